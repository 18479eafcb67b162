#!/usr/bin/python3
"""A client of vamba's OpenAI-compatible HTTP API written with Python's standard library only (the
official openai package is not in Debian), as any OpenAI-style client would talk to it.

Sends one request and prints one JSON object on stdout:
  {"status": HTTP status, "content_type": ..., "json": the body (non-streamed),
   "events": [each "data:" payload of a stream, parsed; "[DONE]" as the string], "done": bool,
   "disconnected": bool}

  openai_http_client.py --url http://127.0.0.1:PORT --path /v1/chat/completions \
      --body-file req.json [--token T] [--disconnect-after N | --give-up-after S]
  openai_http_client.py --url ... --path /v1/models --method GET
"""
import argparse
import http.client
import json
import sys
import urllib.parse


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--path", default="/v1/chat/completions")
    p.add_argument("--method", default="POST")
    p.add_argument("--body-file")
    p.add_argument("--token")
    p.add_argument("--disconnect-after", type=int, default=0,
                   help="close the connection after this many content deltas of a stream")
    p.add_argument("--give-up-after", type=float, default=0,
                   help="close the connection if no response came within this many seconds")
    p.add_argument("--timeout", type=float, default=120)
    a = p.parse_args()

    url = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=a.timeout)
    headers = {"Accept": "application/json, text/event-stream"}
    body = None
    if a.body_file:
        with open(a.body_file, "rb") as f:
            body = f.read()
        headers["Content-Type"] = "application/json"
    if a.token:
        headers["Authorization"] = "Bearer " + a.token
    conn.request(a.method, a.path, body=body, headers=headers)
    if a.give_up_after:
        conn.sock.settimeout(a.give_up_after)
    try:
        resp = conn.getresponse()
    except TimeoutError:
        conn.sock.close()  # the client goes away before the answer
        json.dump({"status": 0, "content_type": "", "disconnected": True, "events": [],
                   "done": False}, sys.stdout)
        sys.stdout.write("\n")
        return
    out = {"status": resp.status, "content_type": resp.getheader("Content-Type", ""),
           "request_id": resp.getheader("x-request-id", ""), "events": [], "done": False,
           "disconnected": False}
    if out["content_type"].startswith("text/event-stream"):
        deltas = 0
        while True:
            line = resp.readline()
            if not line:
                break
            line = line.decode("utf-8").rstrip("\r\n")
            if not line.startswith("data: "):
                continue  # blank separators and SSE comments
            payload = line[len("data: "):]
            if payload == "[DONE]":
                out["events"].append("[DONE]")
                out["done"] = True
                break
            event = json.loads(payload)
            out["events"].append(event)
            if any("content" in c.get("delta", {}) and c["delta"]["content"]
                   for c in event.get("choices", [])):
                deltas += 1
                if a.disconnect_after and deltas >= a.disconnect_after:
                    conn.sock.close()  # the client goes away mid-answer
                    out["disconnected"] = True
                    break
    else:
        raw = resp.read()
        try:
            out["json"] = json.loads(raw)
        except ValueError:
            out["text"] = raw.decode("utf-8", "replace")
    conn.close()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
