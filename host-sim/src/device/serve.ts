import { createServer, type Server } from "node:net";
import { createMemoryPair } from "../../../compiler/src/transport/memory.js";
import { socketTransport } from "../../../compiler/src/transport/tcp.js";
import type { Connector } from "../../../compiler/src/transport/transport.js";
import type { ProtocolServer } from "./protocol-server.js";

export interface TcpListener {
  /** tcp://HOST:PORT, what clients pass as --port */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Accepts protocol connections on TCP (port 0 picks a free one). */
export function listenTcp(server: ProtocolServer, port = 0, host = "127.0.0.1"): Promise<TcpListener> {
  return new Promise((resolve, reject) => {
    const net: Server = createServer((socket) => {
      server.serve(socketTransport(`tcp://${socket.remoteAddress}:${socket.remotePort}`, socket));
    });
    net.once("error", (err: NodeJS.ErrnoException) => {
      reject(new Error(err.code === "EADDRINUSE" ? `port ${port} is already in use: pick another with --port, or 0 for any free port` : err.message));
    });
    net.listen(port, host, () => {
      const address = net.address();
      const bound = typeof address === "object" && address ? address.port : port;
      resolve({
        url: `tcp://${host}:${bound}`,
        port: bound,
        close: async () => {
          await server.closeAll();
          await new Promise<void>((r) => net.close(() => r()));
        },
      });
    });
  });
}

/** A connector that opens in-process streams to the server: no sockets, same bytes. */
export function memoryConnector(server: ProtocolServer, url = "mem://sim-device"): Connector {
  return async () => {
    const [client, device] = createMemoryPair(url);
    server.serve(device);
    return client;
  };
}
