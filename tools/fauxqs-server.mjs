// Starts the fauxqs SQS emulator bound to 127.0.0.1 only (startFauxqs would listen on
// every interface) on the port given as the first argument (0: any free port), and prints
// "listening <port>" once it accepts connections. Used by scripts/test.
import { buildApp } from "fauxqs";

const port = Number(process.argv[2] ?? 0);
const app = buildApp({ logger: false });
const address = await app.listen({ port, host: "127.0.0.1" });
console.log(`listening ${new URL(address).port}`);
const stop = async () => { await app.close(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
