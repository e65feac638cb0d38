#!/usr/bin/env python3
"""Records the bytes a real client and a real server exchange, as seeds for the protocol decoder fuzz target.

    capture-traffic.py LISTEN_PORT SERVER_PORT OUT_DIR

Listens on 127.0.0.1:LISTEN_PORT, forwards every connection to 127.0.0.1:SERVER_PORT (Apache ZooKeeper), and
writes each connection's client stream to OUT_DIR/client-N and server stream to OUT_DIR/server-N. Each file
starts with the two bytes the fuzz target reads as its first choices (the default packet limit, chunks of 32
bytes). Stops after 60 s without a new connection.
"""
import os, socket, sys, threading

listen_port, server_port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)

def pump(source, sink, path):
    with open(path, "wb") as f:
        f.write(b"\x02\x1f")
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            f.write(data)
            try:
                sink.sendall(data)
            except OSError:
                break
    for s in (source, sink):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", listen_port))
listener.listen()
listener.settimeout(60)
count = 0
while True:
    try:
        client, _ = listener.accept()
    except socket.timeout:
        break
    server = socket.create_connection(("127.0.0.1", server_port))
    count += 1
    threading.Thread(target=pump, args=(client, server, f"{out}/client-{count}"), daemon=True).start()
    threading.Thread(target=pump, args=(server, client, f"{out}/server-{count}"), daemon=True).start()
