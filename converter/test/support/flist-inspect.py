#!/usr/bin/env python3
"""Independent inspection of a .flist (Python tarfile + sqlite3 + the `capnp decode` tool).

Usage: flist-inspect.py <file.flist> <flist.capnp> [--decode]
Prints JSON: tar members, sqlite header/journal facts, schema, key facts and, with --decode,
`capnp decode` text of every entry (Dir for 32-hex keys, ACI for 16-hex keys) in
db-entries-decoded.txt's format ("== <key> (<Type>)" blocks sorted by key), plus "violations":
docs/flist-format.md §5 rules checked on that text with Python's own BLAKE2b (Dir key = blake2b-128 of
its location, every SubDir.key and aclkey present, root parent = root key, blockSize 128).
"""
import hashlib, json, os, re, sqlite3, subprocess, sys, tarfile, tempfile

TEXT = r'"((?:[^"\\]|\\.)*)"'


def unescape(text):
    """capnp's text escapes (C style, octal for raw bytes) back to the UTF-8 string."""
    raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit()
                 else {b"n": b"\n", b"t": b"\t", b"r": b"\r"}.get(m.group(1), m.group(1)), text.encode())
    return raw.decode("utf-8")


def violations(decoded_by_key):
    problems = []
    keys = set(decoded_by_key)
    root = hashlib.blake2b(b"", digest_size=16).hexdigest()
    for key, (kind, text) in decoded_by_key.items():
        if kind != "Dir":
            continue
        location = unescape(re.search(r"^  location = " + TEXT, text, re.M).group(1))
        if hashlib.blake2b(location.encode(), digest_size=16).hexdigest() != key:
            problems.append(f"{key}: location {location!r} does not hash to its key")
        for sub in re.findall(r"dir = \(\s*key = " + TEXT, text):
            if sub not in keys:
                problems.append(f"{key}: SubDir.key {sub} has no entry")
        for acl in re.findall(r"aclkey = " + TEXT, text):
            if acl not in keys or len(acl) != 16:
                problems.append(f"{key}: aclkey {acl} has no ACI entry")
        for size in re.findall(r"blockSize = (\d+)", text):
            if size != "128":
                problems.append(f"{key}: blockSize {size}")
        parent = re.search(r"^  parent = " + TEXT, text, re.M)
        if key == root and (parent is None or parent.group(1) != root):
            problems.append("root parent is not the root key")
    if root not in keys:
        problems.append("no root entry")
    return problems


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
        by_key = {}
        for key, value in rows:
            kind = "Dir" if len(key) == 32 else "ACI"
            res = subprocess.run(["capnp", "decode", schema, kind], input=value, capture_output=True)
            if res.returncode != 0:
                print(json.dumps({"error": f"capnp decode {kind} {key}: {res.stderr.decode()}"}))
                sys.exit(1)
            text = res.stdout.decode().rstrip()
            by_key[key] = (kind, text)
            blocks.append(f"== {key} ({kind})\n{text}\n")
        out["decoded"] = "\n".join(blocks)
        out["violations"] = violations(by_key)
print(json.dumps(out))
