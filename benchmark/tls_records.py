#!/usr/bin/env python3
"""How many ZooKeeper messages one TLS record carries, each way, on Apache's TLS port and on zkserver's.

Starts Apache ZooKeeper 3.8 (Netty connection factory) and zkserver, each with a TLS port configured as in
compare.py's TLS section, puts a relay in front of each TLS port that reads the 5-byte header of every TLS record
passing through, and runs zkbench (pipelined create then get) through it. Prints records, bytes per record and
operations per record for both directions. Many small records cost the reader a decryption call and an event
each; see BENCHMARKS.md, TLS.

Usage: benchmark/tls_records.py [--count N] [--bin-path DIR]
"""
import argparse
import os
import socket
import tempfile
import threading

import compare


class RecordCountingRelay:
    """Accepts on a free loopback port, connects each client to `target`, copies bytes both ways and counts the
    TLS records (content type, version, 2-byte length, body) in each direction."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.counts = {"to server": [0, 0], "to client": [0, 0]}
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(self.target)
            for end in (client, server):
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.copy, args=(client, server, "to server"), daemon=True).start()
            threading.Thread(target=self.copy, args=(server, client, "to client"), daemon=True).start()

    def copy(self, source, destination, direction):
        pending = b""
        while True:
            data = source.recv(65536)
            if not data:
                try:
                    destination.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            destination.sendall(data)
            pending += data
            records, size = 0, 0
            while len(pending) >= 5:
                length = int.from_bytes(pending[3:5], "big")
                if len(pending) < 5 + length:
                    break
                records, size = records + 1, size + length
                pending = pending[5 + length:]
            with self.lock:
                self.counts[direction][0] += records
                self.counts[direction][1] += size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000, help="operations per phase (create, then get)")
    parser.add_argument("--bin-path", help="use the release products in this directory instead of building them")
    args = parser.parse_args()
    bins = compare.build_products(args.bin_path)
    workdir = tempfile.mkdtemp(prefix="zk-tls-records-")
    certificates = os.path.join(workdir, "certs")
    properties = compare.make_certificates(certificates)
    servers = [("Apache ZooKeeper 3.8", compare.ApacheTLS(workdir, certificates)),
               ("zkserver", compare.ZKServerTLS(workdir, os.path.join(bins, "zkserver"), certificates))]
    try:
        for _, server in servers:
            server.start()
            compare.wait_serving(server.port, 1)
        for name, server in servers:
            relay = RecordCountingRelay(("127.0.0.1", server.secure_port))
            completed = compare.run(
                [os.path.join(bins, "zkbench"), "--phases", "create", "get", "--count", str(args.count), "--sessions",
                 "4", "--window", "500", "--server", f"127.0.0.1:{relay.port}", "--client-configuration", properties])
            if completed.returncode != 0:
                raise RuntimeError(f"zkbench through the relay failed: {completed.stderr}")
            operations = 2 * args.count
            with relay.lock:
                for direction, (records, size) in relay.counts.items():
                    print(f"{name}, {direction}: {records} TLS records, {size / max(records, 1):.0f} B per record, "
                          f"{operations / max(records, 1):.1f} operations per record")
    finally:
        for _, server in servers:
            compare.stop(server.process)


if __name__ == "__main__":
    main()
