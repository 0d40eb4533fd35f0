#!/usr/bin/env python3
"""Load and verification for test_durability.sh (loopback only).

  durability_load.py load URL STATE SEED   four clients upload, replace, delete
                                           and chat until the server dies
  durability_load.py verify URL STATE DATA check every acknowledged write
                                           after the restart; print a JSON
                                           summary, exit 1 on a violation

STATE is a JSON file carried from one kill to the next. Every document is
owned by one client, so its acknowledged state is well defined: after a
restart a document must be in its last acknowledged state, or in the state
of the one operation that was in flight when the server died (not
acknowledged: it may or may not have happened). Chat turns acknowledged
(200) more than HISTORY_GRACE seconds before the kill must be in the
history. The index must hold exactly the stored version: the current
version's marker word finds the document, the other versions' markers do
not.
"""
import hashlib
import http.client
import json
import os
import random
import re
import sqlite3
import sys
import threading
import time
import urllib.parse

CLIENTS = 4
DOCS_PER_CLIENT = 6
# history is written just after the answer, on the worker pool: a turn
# answered this close to the kill may not be saved yet
HISTORY_GRACE = float(os.environ.get("HISTORY_GRACE", "1.5"))
WORDS = ("harbour lamp keeper tide beacon fog signal ledger rope anchor gull "
         "shore reef buoy channel pilot vessel cargo mast sail deck hull").split()


def derive_id(filename):
    """The id the server derives from a filename (docs_derive_id)."""
    out, sep = "", False
    for c in filename.lower():
        if not (c.isascii() and c.isalnum()):
            sep = True
            continue
        if len(out) + (1 if sep and out else 0) + 1 > 48:
            break
        if sep and out:
            out += "-"
        sep = False
        out += c
    return (out or "doc") + "-" + hashlib.sha256(filename.encode()).hexdigest()[:8]


def marker(rng):
    return "qz" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))


def body_for(rng, mark):
    size = rng.choice((2_000, 20_000, 150_000, 600_000, 1_500_000))
    para, out, n = [], [], 0
    while n < size:
        para = " ".join(rng.choice(WORDS) for _ in range(60)) + "."
        out.append(para)
        n += len(para) + 2
    out.insert(0, f"Version {mark}. The keyword {mark} marks this version.")
    out.append(f"Closing note {mark}.")
    return "\n\n".join(out).encode()


def request(url, method, path, body=None, headers=None, timeout=60):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


# ---- load ----------------------------------------------------------------

def client(url, state, cid, rng, lock):
    docs = [d for d in state["docs"].values() if d["owner"] == cid]
    conv = state["convs"][str(cid)]
    n = 0
    while True:
        n += 1
        d = rng.choice(docs)
        roll = rng.random()
        try:
            if roll < 0.25:
                chat(url, state, conv, cid, n, rng, lock)
            elif not d["acked"]["exists"] or roll < 0.75:
                put(url, d, rng, lock)
            else:
                delete(url, d, lock)
        except (OSError, http.client.HTTPException):
            return  # the server died: whatever was in flight stays pending


def put(url, d, rng, lock):
    mark = marker(rng)
    data = body_for(rng, mark)
    sha = hashlib.sha256(data).hexdigest()
    with lock:
        d["pending"] = {"exists": True, "sha": sha, "marker": mark}
        d["markers"].append(mark)
    path = "/documents?filename=" + urllib.parse.quote(d["filename"])
    status, body = request(url, "POST", path, data, {"Content-Type": "text/plain"})
    with lock:
        if status == 201:
            got = json.loads(body)
            if got.get("id") != d["id"] or got.get("sha256") != sha:
                d.setdefault("errors", []).append(f"201 with {got}")
            d["acked"], d["pending"] = d["pending"], None
        elif status >= 500:  # refused: nothing of it may stay
            d["pending"] = None
        else:
            d.setdefault("errors", []).append(f"upload answered {status}: {body[:200]!r}")
            d["pending"] = None


def delete(url, d, lock):
    with lock:
        d["pending"] = {"exists": False, "sha": None, "marker": None}
    status, body = request(url, "DELETE", "/documents/" + d["id"])
    with lock:
        if status in (204, 404):
            d["acked"], d["pending"] = d["pending"], None
        else:
            d["pending"] = None
            if status < 500:
                d.setdefault("errors", []).append(f"delete answered {status}")


def chat(url, state, conv, cid, n, rng, lock):
    phrase = f"turn{cid}x{state['cycle']}x{n}x{rng.randrange(10**6)}"
    msg = {"message": f"Please remember {phrase} about the harbour lamp."}
    if conv["id"]:
        msg["conversation_id"] = conv["id"]
    status, body = request(url, "POST", "/chat", json.dumps(msg).encode(),
                           {"Content-Type": "application/json"})
    if status == 200:
        got = json.loads(body)
        with lock:
            conv["id"] = conv["id"] or got.get("conversation_id")
            if conv["id"] == got.get("conversation_id"):
                conv["turns"].append({"phrase": phrase, "at": time.time()})


def new_state():
    docs = {}
    for cid in range(CLIENTS):
        for k in range(DOCS_PER_CLIENT):
            fn = f"client{cid}-doc{k}.txt"
            docs[fn] = {"filename": fn, "id": derive_id(fn), "owner": cid, "markers": [],
                        "acked": {"exists": False, "sha": None, "marker": None},
                        "pending": None}
    return {"cycle": 0, "docs": docs,
            "convs": {str(c): {"id": None, "turns": []} for c in range(CLIENTS)}}


def load(url, path, seed):
    state = json.load(open(path)) if os.path.exists(path) else new_state()
    state["cycle"] += 1
    lock = threading.Lock()
    threads = [threading.Thread(target=client,
                                args=(url, state, c, random.Random(seed * 10 + c), lock))
               for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(state, open(path, "w"))


# ---- verify ---------------------------------------------------------------

def sources_for(url, word):
    status, body = request(url, "POST", "/chat",
                           json.dumps({"message": word}).encode(),
                           {"Content-Type": "application/json"})
    if status != 200:
        raise RuntimeError(f"chat answered {status}")
    return {s.get("doc_id") for s in json.loads(body).get("sources", [])}


def listed(url):
    status, body = request(url, "GET", "/documents?limit=1000")
    if status != 200:
        raise RuntimeError(f"list answered {status}")
    return {m["id"]: m["sha256"] for m in json.loads(body)["data"]}


def check_doc(url, d, have, bad):
    allowed = [d["acked"]] + ([d["pending"]] if d["pending"] else [])
    sha = have.get(d["id"])
    now = next((s for s in allowed if s["exists"] == (sha is not None) and
                (sha is None or s["sha"] == sha)), None)
    if now is None:
        bad.append(f"{d['id']}: storage holds {sha}, acknowledged "
                   f"{d['acked']['sha']}, in flight {d['pending'] and d['pending']['sha']}")
        return
    if sha is not None:
        status, data = request(url, "GET", "/documents/" + d["id"])
        if status != 200 or hashlib.sha256(data).hexdigest() != sha:
            bad.append(f"{d['id']}: content does not match its sha256 ({status})")
    for s in allowed:  # the index must hold the stored version, and only it
        if not s["marker"]:
            continue
        hit = d["id"] in sources_for(url, s["marker"])
        if hit != (s is now):
            bad.append(f"{d['id']}: index {'holds' if hit else 'lacks'} version "
                       f"{s['marker']} while storage holds {now['marker']}")
    d["acked"], d["pending"] = now, None


def check_history(data_dir, state, kill_at, bad):
    db = sqlite3.connect(f"file:{data_dir}/history.sqlite?mode=ro", uri=True)
    texts = "\n".join(r[0] for r in db.execute("SELECT content FROM messages"))
    db.close()
    checked = 0
    for conv in state["convs"].values():
        for t in conv["turns"]:
            if t.get("seen"):
                continue
            t["seen"] = True  # a turn just before the kill may be lost: not checked again
            if t["at"] < kill_at - HISTORY_GRACE:
                checked += 1
                if t["phrase"] not in texts:
                    bad.append(f"history: acknowledged turn {t['phrase']} is missing")
    return checked


def leftovers(data_dir):
    out = []
    for root, _dirs, files in os.walk(os.path.join(data_dir, "documents")):
        for f in files:
            meta = os.path.join(root, f[:-5] + ".meta.json") if f.endswith(".blob") else None
            if f.startswith(".") or (meta and not os.path.exists(meta)):
                out.append(os.path.join(root, f))
    return out


def verify(url, path, data_dir, kill_at):
    state = json.load(open(path))
    have, bad = listed(url), []
    known = {d["id"] for d in state["docs"].values()}
    for extra in set(have) - known:
        bad.append(f"{extra}: listed but never uploaded")
    for d in state["docs"].values():
        check_doc(url, d, have, bad)
        bad.extend(d.pop("errors", []))
    turns = check_history(data_dir, state, kill_at, bad)
    left = leftovers(data_dir)
    bad.extend(f"left behind: {f}" for f in left)
    json.dump(state, open(path, "w"))
    stored = sum(1 for d in state["docs"].values() if d["acked"]["exists"])
    print(json.dumps({"stored": stored, "turns_checked": turns, "violations": len(bad),
                      "details": bad[:20]}))
    return 1 if bad else 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "load":
        load(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])))
    else:
        sys.exit(f"unknown command {cmd}")
