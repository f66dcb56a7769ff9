#!/usr/bin/env python3
"""Independent inspection of a .flist (Python tarfile + sqlite3 + the `capnp decode` tool).

Usage: flist-inspect.py <file.flist> <flist.capnp> [--decode]
Prints JSON: tar members, sqlite header/journal facts, schema, key facts and, with --decode,
`capnp decode` text of every entry (Dir for 32-hex keys, ACI for 16-hex keys) in
db-entries-decoded.txt's format ("== <key> (<Type>)" blocks sorted by key).
"""
import json, os, sqlite3, subprocess, sys, tarfile, tempfile

path, schema = sys.argv[1], sys.argv[2]
decode = "--decode" in sys.argv[3:]
out = {}
with tarfile.open(path, "r:gz") as tar:
    members = tar.getmembers()
    out["members"] = [{"name": m.name, "type": m.type.decode(), "mode": m.mode, "uid": m.uid, "gid": m.gid,
                       "uname": m.uname, "gname": m.gname, "mtime": m.mtime} for m in members]
    db_member = next(m for m in members if m.name == "./flistdb.sqlite3")
    data = tar.extractfile(db_member).read()
out["header_18_19"] = [data[18], data[19]]
with tempfile.TemporaryDirectory() as tmp:
    dbpath = os.path.join(tmp, "flistdb.sqlite3")
    with open(dbpath, "wb") as f:
        f.write(data)
    con = sqlite3.connect(dbpath)
    out["journal_mode"] = con.execute("PRAGMA journal_mode").fetchone()[0]
    out["schema"] = [r[0] for r in con.execute("SELECT sql FROM sqlite_master ORDER BY name")]
    out["key_types"] = sorted({r[0] for r in con.execute("SELECT DISTINCT typeof(key) FROM entries")})
    out["value_types"] = sorted({r[0] for r in con.execute("SELECT DISTINCT typeof(value) FROM entries")})
    rows = con.execute("SELECT key, value FROM entries ORDER BY key").fetchall()
    out["keys"] = [k for k, _ in rows]
    out["metadata"] = [[k, v] for k, v in con.execute("SELECT key, value FROM metadata ORDER BY key")]
    con.close()
    if decode:
        blocks = []
        for key, value in rows:
            kind = "Dir" if len(key) == 32 else "ACI"
            res = subprocess.run(["capnp", "decode", schema, kind], input=value, capture_output=True)
            if res.returncode != 0:
                print(json.dumps({"error": f"capnp decode {kind} {key}: {res.stderr.decode()}"}))
                sys.exit(1)
            blocks.append(f"== {key} ({kind})\n{res.stdout.decode().rstrip()}\n")
        out["decoded"] = "\n".join(blocks)
print(json.dumps(out))
