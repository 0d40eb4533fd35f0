#!/usr/bin/env bash
# Documents over HTTP with curl on the embedded stack (storage_local,
# retriever_sqlite, llm_extractive; tests/integration/configs/docs_local.yaml):
# English and Russian uploads in every format (txt, md, html, pdf; some as
# multipart/form-data, some as the raw body), listing with pagination,
# byte-identical downloads, ETag/304, ranges (206/416), HEAD, answers that
# cite the one document holding the answer (and Russian inflection: the
# question says "документов", the document "документ"), delete -> no longer
# cited and 404, input errors (400/413/415), and a restart with the index
# file deleted: the documents are re-indexed from storage and cited again.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
. "$RK_ROOT/tests/lib/http.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
F=tests/fixtures/docs
CFG=${DOCS_CFG:-tests/integration/configs/docs_local.yaml}   # test_documents_s3.sh: docs_s3.yaml
export RAGKERNEL_DATA=$T/data # kept across the restart below

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
openai_error() { jq_py "$T/$1.b" 'isinstance(d["error"]["message"],str) and d["error"]["message"]!="" and isinstance(d["error"]["type"],str) and "param" in d["error"] and "code" in d["error"]'; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# ask NAME QUESTION: /chat the way the README does it (plain curl -d, so
# the Content-Type is application/x-www-form-urlencoded)
ask() {
    python3 -c 'import json,sys; print(json.dumps({"message": sys.argv[1]}))' "$2" >"$T/$1.q"
    req "$1" POST /chat --data-binary @"$T/$1.q"
}
# cites NAME ID: the answer's sources include document ID
cites() { jq_py "$T/$1.b" "any(s['doc_id']=='$2' for s in d['sources'])"; }

rk_start "$CFG" || exit 1

echo "== uploads: English and Russian, every format, multipart and raw"
declare -A ID FILE
# upload KEY FILE MODE QUERY [curl args]: MODE form = multipart (the
# part's type from $FTYPE when set), raw = the body
upload() {
    local key=$1 file=$2 mode=$3 query=$4; shift 4
    if [ "$mode" = form ]; then
        req "up_$key" POST "/documents$query" -F "file=@$file${FTYPE:+;type=$FTYPE}" "$@"
    else
        req "up_$key" POST "/documents$query" --data-binary @"$file" "$@"
    fi
    FILE[$key]=$file
    ID[$key]=$(field "$T/up_$key.b" id 2>/dev/null)
    check "upload $key ($mode): 201 with an id" bash -c '[ "$1" = 201 ] && [ -n "$2" ]' _ "$(cat "$T/up_$key.code")" "${ID[$key]}"
    check "upload $key: size and sha256 match the file" jq_py "$T/up_$key.b" \
        "d['size']==$(stat -c %s "$file") and d['sha256']=='$(sha "$file")' and isinstance(d['created_at'],int) and d['created_at']>1600000000"
}
upload en_txt "$F/en.txt" form ""
upload ru_txt "$F/ru.txt" raw "?filename=ru.txt" -H 'Content-Type: text/plain; charset=utf-8'
FTYPE=text/markdown upload en_md "$F/sample.md" form "" -F id=harbour-notes
upload ru_md "$F/ru_notes.md" raw "" -H 'X-Filename: %D0%B7%D0%B0%D0%BC%D0%B5%D1%82%D0%BA%D0%B8.md'
upload en_html "$F/sample.html" raw "?filename=sample.html"
upload ru_html "$F/ru_tides.html" form ""
upload en_pdf "$F/sample.pdf" raw "?filename=sample.pdf&id=pdf-en" -H 'Content-Type: application/pdf'
upload ru_pdf "$F/ru_sample.pdf" form ""
check "multipart id field is used" test "${ID[en_md]}" = harbour-notes
check "?id= is used" test "${ID[en_pdf]}" = pdf-en
check "201 carries Location" test "$(header up_en_pdf Location)" = /documents/pdf-en
check "content types resolved" bash -c 'grep -q "\"text/markdown\"" "$1" && grep -q "\"text/html\"" "$2" && grep -q "\"application/pdf\"" "$3" && grep -q "\"text/plain\"" "$4"' \
    _ "$T/up_ru_md.b" "$T/up_en_html.b" "$T/up_ru_pdf.b" "$T/up_ru_txt.b"
check "X-Filename percent-decoded (UTF-8 name kept)" jq_py "$T/up_ru_md.b" 'd["filename"]=="заметки.md"'

echo "== list with pagination (limit=2)"
after="" ; : >"$T/listed"; pages=0; bad_page=0
while :; do
    req page GET "/documents?limit=2${after:+&after=$after}"
    code_is page 200 || { bad_page=1; break; }
    pages=$((pages+1))
    python3 -c 'import json,sys; [print(x["id"]) for x in json.load(open(sys.argv[1]))["data"]]' "$T/page.b" >>"$T/listed"
    jq_py "$T/page.b" 'd["object"]=="list" and len(d["data"])<=2 and all(set(x)=={"id","filename","content_type","size","sha256","created_at"} for x in d["data"])' || bad_page=1
    more=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("1" if d["has_more"] else "")' "$T/page.b")
    [ -n "$more" ] || break
    after=$(field "$T/page.b" next)
    [ "$pages" -lt 20 ] || { bad_page=1; break; }
done
check "every page well-formed" test "$bad_page" = 0
check "4 pages of 2" test "$pages" = 4
check "the pages list all 8 documents once, in id order" bash -c \
    'diff <(printf "%s\n" "${@:2}" | LC_ALL=C sort) "$1" >/dev/null' _ "$T/listed" "${ID[@]}"
check "last page: has_more false, next null" jq_py "$T/page.b" 'd["has_more"] is False and d["next"] is None'
req lbad GET "/documents?limit=0"
check "limit=0 400" code_is lbad 400
req lbad2 GET "/documents?after=..%2Fetc"
check "bad cursor 400" code_is lbad2 400

echo "== downloads"
for k in "${!ID[@]}"; do
    req "dl_$k" GET "/documents/${ID[$k]}"
    check "download $k: 200 byte-identical" bash -c '[ "$1" = 200 ] && cmp -s "$2" "$3"' _ "$(cat "$T/dl_$k.code")" "$T/dl_$k.b" "${FILE[$k]}"
done
ENID=${ID[en_txt]}; ENSIZE=$(stat -c %s "$F/en.txt"); ENSHA=$(sha "$F/en.txt")
check "ETag is the quoted sha256" test "$(header dl_en_txt ETag)" = "\"$ENSHA\""
check "Content-Type (UTF-8 text), Content-Length, Accept-Ranges, Last-Modified" bash -c \
    '[ "$1" = "text/plain; charset=utf-8" ] && [ "$2" = "$3" ] && [ "$4" = bytes ] && [[ "$5" =~ ^[A-Z][a-z]{2},\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9:]{8}\ GMT$ ]]' \
    _ "$(header dl_en_txt Content-Type)" "$(header dl_en_txt Content-Length)" "$ENSIZE" "$(header dl_en_txt Accept-Ranges)" "$(header dl_en_txt Last-Modified)"
check "Content-Disposition attachment, RFC 5987 name" test "$(header dl_en_txt Content-Disposition)" = "attachment; filename*=UTF-8''en.txt"
check "PDF served as application/pdf, nosniff" bash -c '[ "$1" = application/pdf ] && [ "$2" = nosniff ]' _ "$(header dl_en_pdf Content-Type)" "$(header dl_en_pdf X-Content-Type-Options)"
check "Content-Disposition of a Cyrillic name is percent-encoded UTF-8" test \
    "$(header dl_ru_md Content-Disposition)" = "attachment; filename*=UTF-8''%D0%B7%D0%B0%D0%BC%D0%B5%D1%82%D0%BA%D0%B8.md"
req inm GET "/documents/$ENID" -H "If-None-Match: \"$ENSHA\""
check "If-None-Match with the ETag: 304, no body" bash -c '[ "$1" = 304 ] && [ ! -s "$2" ]' _ "$(cat "$T/inm.code")" "$T/inm.b"
check "304 carries the ETag" test "$(header inm ETag)" = "\"$ENSHA\""
req inm2 GET "/documents/$ENID" -H 'If-None-Match: W/"0000", "1111"'
check "If-None-Match with other tags: 200" bash -c '[ "$1" = 200 ] && cmp -s "$2" "$3"' _ "$(cat "$T/inm2.code")" "$T/inm2.b" "$F/en.txt"
req rg GET "/documents/$ENID" -H 'Range: bytes=0-9'
check "Range 0-9: 206, 10 bytes, Content-Range" bash -c '[ "$1" = 206 ] && cmp -s "$2" <(head -c 10 "$3") && [ "$4" = "bytes 0-9/$5" ]' \
    _ "$(cat "$T/rg.code")" "$T/rg.b" "$F/en.txt" "$(header rg Content-Range)" "$ENSIZE"
req rg2 GET "/documents/$ENID" -H 'Range: bytes=-7'
check "Range -7: the last 7 bytes" bash -c '[ "$1" = 206 ] && cmp -s "$2" <(tail -c 7 "$3")' _ "$(cat "$T/rg2.code")" "$T/rg2.b" "$F/en.txt"
req rg3 GET "/documents/$ENID" -H 'Range: bytes=1000-'
check "Range 1000-: the rest" bash -c '[ "$1" = 206 ] && cmp -s "$2" <(tail -c +1001 "$3") && [ "$4" = "bytes 1000-$(( $5 - 1 ))/$5" ]' \
    _ "$(cat "$T/rg3.code")" "$T/rg3.b" "$F/en.txt" "$(header rg3 Content-Range)" "$ENSIZE"
req rg4 GET "/documents/$ENID" -H "Range: bytes=$ENSIZE-"
check "Range past the end: 416, Content-Range */size" bash -c '[ "$1" = 416 ] && [ "$2" = "bytes */$3" ]' _ "$(cat "$T/rg4.code")" "$(header rg4 Content-Range)" "$ENSIZE"
check "416 body is an OpenAI error" openai_error rg4
req rg5 GET "/documents/$ENID" -H 'Range: bytes=0-1,5-6'
check "several ranges: ignored, 200 whole" bash -c '[ "$1" = 200 ] && cmp -s "$2" "$3"' _ "$(cat "$T/rg5.code")" "$T/rg5.b" "$F/en.txt"
req rg6 GET "/documents/$ENID" -H 'Range: bytes=0-9' -H 'If-Range: "stale"'
check "If-Range that does not match: 200 whole" code_is rg6 200
curl -s --max-time 30 -I -D "$T/hd.h" -o /dev/null -w '%{http_code} %{size_download}' "$RK_URL/documents/$ENID" >"$T/hd.out"
check "HEAD: 200, the GET's Content-Length and ETag, no body" bash -c '[ "$1" = "200 0" ] && [ "$2" = "$3" ] && [ "$4" = "\"$5\"" ]' \
    _ "$(cat "$T/hd.out")" "$(header hd Content-Length)" "$ENSIZE" "$(header hd ETag)" "$ENSHA"

echo "== answers cite the document that holds the answer"
ask q1 "Where do pilots board incoming ships?"
check "/chat with curl -d (form Content-Type): 200" code_is q1 200
check "pilot question cites the markdown document" cites q1 harbour-notes
ask q2 "How often must the lens be polished?"
check "lens question cites en.txt" cites q2 "$ENID"
check "lens question does not cite the unrelated html" bash -c '! grep -q "\"doc_id\":\"$1\"" "$2"' _ "${ID[en_html]}" "$T/q2.b"
ask q3 "Где лежат копии всех документов?"
check "Russian inflection: 'документов' finds the note with 'документ'" cites q3 "${ID[ru_md]}"
ask q4 "Чем заправляют фонарь?"
check "Russian PDF text is searchable" cites q4 "${ID[ru_pdf]}"
ask q5 "Which sentence is about zebras and quokkas?"
check "English PDF text is searchable" cites q5 pdf-en
ask q6 "Когда бывают самые высокие приливы?"
check "Russian HTML text is searchable" cites q6 "${ID[ru_html]}"
req tp POST /v1/chat/completions -H 'Content-Type: text/plain' -d '{"messages":[{"role":"user","content":"How often must the lens be polished?"}]}'
check "completions with a JSON body labelled text/plain: 200" code_is tp 200

echo "== delete"
req del DELETE /documents/harbour-notes
check "DELETE 204, empty" bash -c '[ "$1" = 204 ] && [ ! -s "$2" ]' _ "$(cat "$T/del.code")" "$T/del.b"
req gone GET /documents/harbour-notes
check "GET after delete 404" code_is gone 404
check "404 body is an OpenAI error" openai_error gone
req del2 DELETE /documents/harbour-notes
check "DELETE again 404" code_is del2 404
ask q1b "Where do pilots board incoming ships?"
check "the deleted document is no longer cited" bash -c '[ "$1" = 200 ] && ! grep -q "harbour-notes" "$2"' _ "$(cat "$T/q1b.code")" "$T/q1b.b"

echo "== input errors"
req bad1 GET /documents/bad.id
check "id with a dot 400" code_is bad1 400
req bad2 GET /documents/..%2F..%2Fetc%2Fpasswd --path-as-is
check "path traversal id 400" code_is bad2 400
req bad3 DELETE "/documents/$(head -c 65 /dev/zero | tr '\0' a)"
check "65-character id 400" code_is bad3 400
check "bad id errors are OpenAI errors" bash -c 'for n in bad1 bad2 bad3; do python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d[\"error\"][\"param\"]==\"id\" else 1)" "$1/$n.b" || exit 1; done' _ "$T"
head -c 300000 /dev/zero | tr '\0' 'x' >"$T/big.txt"
# Large uploads ask first (Expect: 100-continue, as curl does by itself past
# 1 MB): the 413 comes before the body is sent. Without it the 413 races the
# client's body against the close of the connection (no lingering close
# yet), and the client may see a reset instead of the answer.
req big POST "/documents?filename=big.txt" -H 'Expect: 100-continue' --data-binary @"$T/big.txt"
check "upload over max_body 413" code_is big 413
check "413 body is an OpenAI error" openai_error big
req bigf POST /documents -H 'Expect: 100-continue' -F "file=@$T/big.txt"
check "multipart upload over max_body 413" code_is bigf 413
req bigc POST "/documents?filename=big.txt" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big.txt"
check "chunked upload over max_body 413" code_is bigc 413
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' >"$T/pic.png"
req png POST "/documents?filename=pic.png" -H 'Content-Type: image/png' --data-binary @"$T/pic.png"
check "unsupported type 415" code_is png 415
check "415 body is an OpenAI error" openai_error png
req noname POST /documents --data-binary 'some text'
check "raw upload without a filename 400" bash -c '[ "$1" = 400 ] && grep -q "\"param\":\"filename\"" "$2"' _ "$(cat "$T/noname.code")" "$T/noname.b"
req nofile POST /documents -F 'purpose=assistants'
check "multipart without a file part 400" code_is nofile 400
req badid POST "/documents?filename=a.txt&id=a/b" --data-binary 'some text'
check "upload with a bad id 400" code_is badid 400
req m405 PUT /documents/x
check "PUT 405 with Allow" bash -c '[ "$1" = 405 ] && grep -qi "^allow: GET, HEAD, DELETE" "$2"' _ "$(cat "$T/m405.code")" "$T/m405.h"

req metrics GET /metrics
check "metrics count the document routes" bash -c 'grep -Eq "^ragkernel_http_requests_total\{route=\"/documents\",code=\"201\",method=\"POST\"\} [1-9]" "$1" && grep -Eq "^ragkernel_http_requests_total\{route=\"/documents/\{id\}\",code=\"206\",method=\"GET\"\} [1-9]" "$1"' _ "$T/metrics.b"

echo "== restart with the index deleted: re-indexed from storage"
rk_stop
rm -f "$RAGKERNEL_DATA"/retriever.sqlite*
check "index file removed" bash -c '! ls "$1"/retriever.sqlite* >/dev/null 2>&1' _ "$RAGKERNEL_DATA"
rk_start "$CFG" || exit 1
for _ in $(seq 100); do grep -q 're-indexed' "$RK_LOG" && break; sleep 0.1; done
check "the log reports the re-index of 7 documents" grep -q 're-indexed 7 documents from storage, 0 failed' "$RK_LOG" ||
    grep 're-index' "$RK_LOG"
ask q2r "How often must the lens be polished?"
check "after re-index the lens question cites en.txt again" cites q2r "$ENID"
ask q3r "Где лежат копии всех документов?"
check "after re-index the Russian note is found again" cites q3r "${ID[ru_md]}"
req dlr GET "/documents/$ENID"
check "documents survive the restart byte for byte" bash -c '[ "$1" = 200 ] && cmp -s "$2" "$3"' _ "$(cat "$T/dlr.code")" "$T/dlr.b" "$F/en.txt"
rk_stop
check "no crash or sanitizer report in the server logs" bash -c \
    '! grep -Eq "AddressSanitizer|LeakSanitizer|runtime error|Fatal error in GNU libmicrohttpd" "$@"' _ "$SVC_TMP"/ragkernel.*.log

rk_summary
