#!/usr/bin/env python3
"""A tiny stand-in for an OpenStack API daemon, used to exercise the
``ocf:saltext:openstack-service`` resource agent.

It takes oslo-style ``--config-file PATH`` options (the last file wins for
each key) and reads the ``[DEFAULT]`` section::

    [DEFAULT]
    port = 18080            # required; binds 127.0.0.1 only
    starts_file = /path     # optional; one line "<pid>" appended per start
    start_log = /path       # optional; one line "<start time> <pid> <greeting>" per start
                            # (also --start-log PATH; the option wins)
    unhealthy_file = /path  # optional; while it exists /health answers 503
    ignore_term = false     # optional; true = ignore SIGTERM (stop escalation)
    fork_workers = 0        # optional; number of idle child processes

``GET /`` answers 200, ``GET /health`` answers 200 (or 503, see above),
anything else 404.  SIGTERM shuts the server down and exits 0.  Apart from
the starts file it writes nothing to disk; it prints one line to stdout
when it listens.

Only the standard library is used, so it runs with any python3.
"""

import argparse
import configparser
import http.server
import os
import signal
import sys
import threading
import time


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-file", action="append", default=[], dest="config_files")
    parser.add_argument("--start-log", default=None, dest="start_log")
    # Accept and ignore any other option (like real daemons' extra args).
    args, _unknown = parser.parse_known_args(argv)
    return args


def _load_config(paths):
    config = configparser.ConfigParser()
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            config.read_file(handle, source=path)
    return config["DEFAULT"]


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "testdaemon/1.0"
    unhealthy_file = ""

    def do_GET(self):
        if self.path == "/":
            self._reply(200, b"testdaemon\n")
        elif self.path == "/health":
            if self.unhealthy_file and os.path.exists(self.unhealthy_file):
                self._reply(503, b"unhealthy\n")
            else:
                self._reply(200, b"ok\n")
        else:
            self._reply(404, b"not found\n")

    def _reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        # Keep quiet: the agent's log_file would fill up with monitor hits.
        pass


def main(argv=None):
    began = time.time()  # before the config is read: for start_log
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    if not args.config_files:
        print("testdaemon: --config-file is required", file=sys.stderr)
        return 2
    conf = _load_config(args.config_files)
    port = conf.getint("port")
    starts_file = conf.get("starts_file", "")
    ignore_term = conf.getboolean("ignore_term", False)
    workers = conf.getint("fork_workers", 0)

    _Handler.unhealthy_file = conf.get("unhealthy_file", "")
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)

    if starts_file:
        with open(starts_file, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
    start_log = args.start_log or conf.get("start_log", "")
    if start_log:
        # When it started (wall clock, before reading its config) and what it read.
        greeting = " ".join(conf.get("greeting", "").split()) or "-"
        with open(start_log, "a", encoding="utf-8") as handle:
            handle.write(f"{began:.6f} {os.getpid()} {greeting}\n")

    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            # Worker: idle until told to stop (or killed), like a forked
            # API worker that does not notice its parent's death.
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            while True:
                signal.pause()
        children.append(pid)

    def _on_term(_signum, _frame):
        if ignore_term:
            return
        # shutdown() blocks until serve_forever() returns: do it elsewhere.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _on_term)
    print(f"testdaemon {os.getpid()} listening on 127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
