# Legacy Zero-OS flist schema (docs/flist-format.md §2.1; identical to 0-flist format/flist.capnp,
# rfs v1 schema/schema.capnp and 0-fs model.capnp). The file id fixes every node id.
#
# Regenerate the committed TypeScript (no compiler needed at runtime; the sed adds the `override`
# modifiers that capnp-es 0.0.16 omits and our `noImplicitOverride` requires):
#   npx capnp-es converter/src/flist/flist.capnp -ots && sed -i -E \
#     's/^  static readonly _capnp = /  static override readonly _capnp = /; s/^  toString\(\): string/  override toString(): string/' \
#     converter/src/flist/flist.ts
@0xae9223e76351538a;

struct FileBlock {
    hash @0 :Data;
    key @1 :Data;
}

struct File {
    # blockSize in 4 KiB units; always 128 (512 KiB chunks).
    blockSize @0 :UInt16;
    blocks @1 :List(FileBlock);
}

struct Link {
    target @0 :Text;
}

struct Special {
    type @0 :Type;
    data @1 :Data;

    enum Type {
        socket @0;
        block @1;
        chardev @2;
        fifopipe @3;
        unknown @4;
    }
}

struct SubDir {
    key @0 :Text;
}

struct Inode {
    name @0 :Text;
    size @1 :UInt64;

    attributes :union {
        dir @2 :SubDir;
        file @3 :File;
        link @4 :Link;
        special @5 :Special;
    }

    aclkey @6 :Text;
    modificationTime @7 :UInt32;
    creationTime @8 :UInt32;
}

struct Dir {
    name @0 :Text;
    location @1 :Text;
    contents @2 :List(Inode);
    parent @3 :Text;
    size @4 :UInt64;
    aclkey @5 :Text;
    modificationTime @6 :UInt32;
    creationTime @7 :UInt32;
}

struct UserGroup {
    name @0 :Text;
    iyoId @1 :Text;
    iyoInt @2 :UInt64;
}

struct ACI {
    uname @0 :Text;
    gname @1 :Text;
    mode @2 :UInt16;
    rights @3 :List(Right);
    id @4 :UInt32;
    uid @5 :Int64 = -1;
    gid @6 :Int64 = -1;

    struct Right {
        right @0 :Text;
        usergroupid @1 :UInt16;
    }
}
