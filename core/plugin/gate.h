/*
 * gate — the one door for the core's blocking calls into a plugin
 * instance. GATE_CALL checks that the slot exists in the vtable the plugin
 * was built with (an older plugin's table may be shorter, an optional slot
 * NULL) and returns the caller's default when it does not; otherwise it
 * takes the instance's serialize lock when the plugin asks for one
 * (RK_PLUGIN_SERIALIZE), calls the slot with the instance context first,
 * and records the call's duration in the instance's
 * ragkernel_plugin_call_seconds{instance} histogram (made on first call).
 *
 *     int rc = GATE_CALL(inst, rk_cache_vtable, get, RK_ERR_UNSUPPORTED,
 *                        key, klen, on_value, ud, &err);
 *
 * Any thread. Non-blocking slots called from a loop thread (llm start,
 * embed) go through gate_has alone: they neither serialize nor block.
 */
#ifndef RK_CORE_GATE_H
#define RK_CORE_GATE_H

#include <stdint.h>

#include <ragkernel/ragkernel.h>

/* One call in progress (gate_enter .. gate_leave). */
typedef struct gate {
    rk_instance *inst;
    int64_t t0_ns;
} gate;

/* Lock if the plugin serializes, start the clock. */
void gate_enter(rk_instance *inst, gate *g);
/* Stop the clock (into the instance's histogram), unlock. */
void gate_leave(const gate *g);
/* The instance's vtable as the plugin declared it. */
const void *gate_vtable(const rk_instance *inst);

/* 1 when vtable vt (of type VT, possibly from an older plugin) has a
 * non-NULL `slot`. */
#define gate_has(vt, VT, slot) (RK_HAS_FIELD((vt), VT, slot) && (vt)->slot != NULL)

/* Call inst's `slot` (vtable type VT) with (ctx, ...) through the gate;
 * evaluates to the slot's result, or to `absent` when the slot is missing. */
#define GATE_CALL(inst, VT, slot, absent, ...)                                 \
    __extension__({                                                            \
        rk_instance *gi_ = (inst);                                             \
        const VT *gv_ = gate_vtable(gi_);                                      \
        __typeof__(gv_->slot(gi_->ctx, __VA_ARGS__)) grc_ = (absent);          \
        if (gate_has(gv_, VT, slot)) {                                         \
            gate gg_;                                                          \
            gate_enter(gi_, &gg_);                                             \
            grc_ = gv_->slot(gi_->ctx, __VA_ARGS__);                           \
            gate_leave(&gg_);                                                  \
        }                                                                      \
        grc_;                                                                  \
    })

#endif
