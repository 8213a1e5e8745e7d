-- Hosts that check in with `vigia agent`: their facts beside the inventory
-- (which is stored as every resource's is), and when they last spoke.
CREATE TABLE agents (
    host_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,            -- agent:<host_id>: the resource's source
    hostname TEXT,
    kernel TEXT,
    interfaces TEXT NOT NULL,        -- JSON: [{name, mac, state}]
    agent_version TEXT,
    inventory_id TEXT,               -- the inventory last accepted: the next difference's base
    head_sha256 TEXT,                -- of that inventory without its packages (OS, host facts)
    first_checkin_at TEXT NOT NULL,
    last_checkin_at TEXT NOT NULL
);
