#!/usr/bin/env python3
"""End-to-end check of `vamba tokenize` against golden/tokenizer/cases.jsonl, both directions.

usage: cli_test.py VAMBA_BINARY DEFAULT_GOLDEN_DIR   ($VAMBA_GOLDEN_DIR wins when set)
"""
import json
import os
import subprocess
import sys
import threading


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def run(binary, args, stdin_text):
    p = subprocess.run([binary, "tokenize"] + args, input=stdin_text.encode("utf-8"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def main():
    binary = sys.argv[1]
    golden = os.environ.get("VAMBA_GOLDEN_DIR") or sys.argv[2]
    tok_dir = os.path.join(golden, "tokenizer")
    with open(os.path.join(tok_dir, "cases.jsonl"), encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l]
    cases = [json.loads(l) for l in lines]
    if len(cases) < 100:
        fail("only %d cases in cases.jsonl" % len(cases))

    # Encode: the case lines as they are (extra keys are ignored), one output line per input line.
    rc, out, err = run(binary, ["--tokenizer", tok_dir], "\n".join(lines) + "\n")
    if rc != 0:
        fail("encode exited %d: %s" % (rc, err))
    outs = out.splitlines()
    if len(outs) != len(cases):
        fail("encode wrote %d lines for %d inputs" % (len(outs), len(cases)))
    for i, (c, o) in enumerate(zip(cases, outs)):
        got = json.loads(o)
        if got != {"ids": c["ids"]}:
            fail("encode line %d %r: got %s want %s" % (i + 1, c["text"][:60], o[:200], c["ids"]))

    # Decode: {"ids"} lines -> the golden decoded text. Uses the checkpoint folder this time.
    src = "\n".join(json.dumps({"ids": c["ids"]}) for c in cases) + "\n"
    rc, out, err = run(binary, ["--decode", "--tokenizer", os.path.join(golden, "vamba-tiny")], src)
    if rc != 0:
        fail("decode exited %d: %s" % (rc, err))
    outs = out.splitlines()
    if len(outs) != len(cases):
        fail("decode wrote %d lines for %d inputs" % (len(outs), len(cases)))
    for i, (c, o) in enumerate(zip(cases, outs)):
        if json.loads(o) != {"text": c["decoded"]}:
            fail("decode line %d: got %s want %r" % (i + 1, o[:200], c["decoded"][:100]))

    # Malformed lines stop the run with a message naming the line and a non-zero exit.
    for args, bad in ((["--tokenizer", tok_dir], '{"text": "ok"}\nnot json\n'),
                      (["--tokenizer", tok_dir], '{"text": "ok"}\n{"txt": "x"}\n'),
                      (["--tokenizer", tok_dir], '{"text": 5}\n'),
                      (["--decode", "--tokenizer", tok_dir], '{"ids": [1, "a"]}\n'),
                      (["--decode", "--tokenizer", tok_dir], '{"ids": [-1]}\n'),
                      (["--decode", "--tokenizer", tok_dir], '{"ids": [1.5]}\n')):
        rc, out, err = run(binary, args, bad)
        if rc == 0 or "line" not in err:
            fail("malformed input %r: exit %d, stderr %r" % (bad, rc, err))
    rc, out, err = run(binary, ["--tokenizer", "/nonexistent/dir"], '{"text": "x"}\n')
    if rc == 0 or "/nonexistent/dir" not in err:
        fail("missing tokenizer: exit %d, stderr %r" % (rc, err))

    # Flushed per line: each answer arrives before the next question is written.
    p = subprocess.Popen([binary, "tokenize", "--tokenizer", tok_dir], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(120, p.kill)
    timer.start()
    try:
        for c in cases[:5]:
            p.stdin.write((json.dumps({"text": c["text"]}) + "\n").encode("utf-8"))
            p.stdin.flush()
            line = p.stdout.readline().decode("utf-8")
            if not line or json.loads(line) != {"ids": c["ids"]}:
                fail("interactive: got %r for %r" % (line, c["text"][:60]))
        p.stdin.close()
        if p.wait() != 0:
            fail("interactive run exited %d" % p.returncode)
    finally:
        timer.cancel()
    print("ok: %d cases encoded and decoded through %s" % (len(cases), binary))


if __name__ == "__main__":
    main()
