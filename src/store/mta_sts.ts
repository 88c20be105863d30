/**
 * The MTA-STS policies of the domains we relay to (RFC 8461 §5: a policy is kept for its
 * `max_age` and must outlive a restart, or an attacker who blocks the fetch after one would
 * turn enforcement off). One row per domain; the queue's policy cache reads and writes it.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { MtaStsPolicies, MtaStsPolicyRow } from "./types.ts";

/** Migration 6 (appended to schema.ts's list): the policies held. */
export const MTA_STS_MIGRATION = `
  CREATE TABLE mta_sts_policies (
    domain TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    policy TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/** Most policies kept; past it, the rows that expire first make room. */
export const MAX_STORED_POLICIES = 100_000;

interface Row {
  domain: string;
  id: string;
  policy: string;
  fetched_at: number;
  expires_at: number;
}

/** {@link MtaStsPolicies} over one database; statements prepared at first use. */
export class SqliteMtaStsPolicies implements MtaStsPolicies {
  readonly #db: DatabaseSync;
  #s:
    | { get: StatementSync; put: StatementSync; count: StatementSync; trim: StatementSync }
    | undefined;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  get #stmt() {
    return this.#s ??= {
      get: this.#db.prepare(
        "SELECT domain, id, policy, fetched_at, expires_at FROM mta_sts_policies WHERE domain = ?",
      ),
      put: this.#db.prepare(
        `INSERT INTO mta_sts_policies (domain, id, policy, fetched_at, expires_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (domain) DO UPDATE SET id = excluded.id, policy = excluded.policy,
           fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`,
      ),
      count: this.#db.prepare("SELECT count(*) AS n FROM mta_sts_policies"),
      trim: this.#db.prepare(
        `DELETE FROM mta_sts_policies WHERE domain IN
           (SELECT domain FROM mta_sts_policies ORDER BY expires_at LIMIT ?)`,
      ),
    };
  }

  get(domain: string): MtaStsPolicyRow | undefined {
    const row = this.#stmt.get.get(domain) as Row | undefined;
    return row && {
      domain: row.domain,
      id: row.id,
      policy: row.policy,
      fetchedAt: row.fetched_at,
      expiresAt: row.expires_at,
    };
  }

  put(p: MtaStsPolicyRow): void {
    const s = this.#stmt;
    s.put.run(p.domain, p.id, p.policy, p.fetchedAt, p.expiresAt);
    const { n } = s.count.get() as { n: number };
    if (n > MAX_STORED_POLICIES) s.trim.run(n - MAX_STORED_POLICIES);
  }
}
