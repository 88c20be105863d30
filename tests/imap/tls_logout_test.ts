/**
 * RFC 9051 §6.1.3: after LOGOUT's BYE and OK the server closes the connection, under TLS too
 * (implicit or after STARTTLS). The server's clock is a manual one that never moves here, so
 * the close must come from the LOGOUT itself, not from the linger deadline that ends sockets
 * whose peer stops reading. mbsync waits for this close before it exits.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { startLiveServer } from "../_helpers/live_server.ts";
import { CA_PEM, fixtureTls } from "../_helpers/imap_clients.ts";
import { bounded, ManualClock } from "../_helpers/clock.ts";

/** Sends LOGOUT once the greeting is in (unless SAID already has it); resolves with all read at close. */
function logout(socket: net.Socket, greeted = false): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const send = () => socket.write("a1 LOGOUT\r\n");
    if (greeted) send();
    socket.on("data", (d: Uint8Array) => {
      text += new TextDecoder().decode(d);
      if (!greeted && text.includes("\r\n")) {
        greeted = true;
        send();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(text));
  });
}

/** Reads from SOCKET until TEXT so far ends in CRLF; resolves with it. */
function line(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const on = (d: Uint8Array) => {
      text += new TextDecoder().decode(d);
      if (text.endsWith("\r\n")) {
        socket.off("data", on);
        resolve(text);
      }
    };
    socket.on("data", on);
  });
}

const BYE_OK = /\* BYE [^\r]*\r\na1 OK [^\r]*\r\n$/;

Deno.test("IMAP: LOGOUT over implicit TLS closes the connection at once", async () => {
  const clock = new ManualClock();
  const live = await startLiveServer({}, fixtureTls(), clock.deadlines, { imaps: true });
  try {
    const s = tls.connect({ host: "127.0.0.1", port: live.imapsPort, ca: [CA_PEM] });
    assert.match(await bounded(logout(s), "the server to close after LOGOUT"), BYE_OK);
  } finally {
    await live.close();
  }
});

Deno.test("IMAP: LOGOUT after STARTTLS closes the connection at once", async () => {
  const clock = new ManualClock();
  const live = await startLiveServer({}, fixtureTls(), clock.deadlines, { imap: true });
  try {
    const plain = net.connect({ host: "127.0.0.1", port: live.imapPort });
    assert.match(await bounded(line(plain), "the greeting"), /^\* OK /);
    plain.write("s1 STARTTLS\r\n");
    assert.match(await bounded(line(plain), "STARTTLS's OK"), /^s1 OK /);
    const s = tls.connect({ socket: plain, ca: [CA_PEM], servername: "localhost" });
    await bounded(new Promise((r) => s.once("secureConnect", r)), "the TLS handshake");
    assert.match(await bounded(logout(s, true), "the server to close after LOGOUT"), BYE_OK);
  } finally {
    await live.close();
  }
});

Deno.test("POP3: QUIT over implicit TLS closes the connection at once", async () => {
  const clock = new ManualClock();
  const live = await startLiveServer({}, fixtureTls(), clock.deadlines, { pop3s: true });
  try {
    const s = tls.connect({ host: "127.0.0.1", port: live.pop3sPort, ca: [CA_PEM] });
    const closed = new Promise<string>((resolve) => {
      let text = "";
      s.on("data", (d: Uint8Array) => {
        text += new TextDecoder().decode(d);
        if (text.startsWith("+OK") && text.endsWith("\r\n") && !text.includes("QUIT")) {
          s.write("QUIT\r\n");
          text += "QUIT";
        }
      });
      s.on("error", () => {});
      s.on("close", () => resolve(text));
    });
    assert.match(await bounded(closed, "the server to close after QUIT"), /QUIT\+OK[^\r]*\r\n$/);
  } finally {
    await live.close();
  }
});
