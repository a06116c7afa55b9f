//! The ELF note that declares, to packagers, the library we dlopen: a
//! `.note.dlopen` in the format of the "ELF dlopen metadata" specification
//! (owner `FDO`, type 0x407c0c0a, a JSON array of the libraries). A linked
//! library shows in the binary's DT_NEEDED entries; a dlopened one only
//! here. packaging/build-packages reads it to write the packages'
//! dependency on libkmod. Data only: nothing reads it at run time.

use super::LIBRARY;

const OWNER: [u8; 4] = *b"FDO\0";
const DLOPEN_METADATA: u32 = 0x407c_0c0a;

/// The JSON, in pieces around [`LIBRARY`] (no character of which needs
/// escaping). "required": loading modules, what the program is for, needs it.
const JSON: [&str; 3] = [
    r#"[{"soname":[""#,
    LIBRARY,
    r#""],"feature":"kmod","description":"Loading kernel modules","priority":"required"}]"#,
];
/// The JSON's length with its terminating NUL, the note's `n_descsz`.
const DESC_SIZE: usize = JSON[0].len() + JSON[1].len() + JSON[2].len() + 1;
/// Notes pad their description with NULs to a multiple of 4 bytes.
const DESC_PADDED: usize = DESC_SIZE.next_multiple_of(4);

/// An ELF note: the header's three words (in the target's byte order, as
/// `u32` writes them), the owner, the description.
#[repr(C, align(4))]
struct Note {
    namesz: u32,
    descsz: u32,
    kind: u32,
    owner: [u8; 4],
    desc: [u8; DESC_PADDED],
}

const fn description() -> [u8; DESC_PADDED] {
    let mut desc = [0; DESC_PADDED];
    let mut at = 0;
    let mut piece = 0;
    while piece < JSON.len() {
        let bytes = JSON[piece].as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            desc[at] = bytes[i];
            at += 1;
            i += 1;
        }
        piece += 1;
    }
    desc
}

/// `used`: kept although no code refers to it. The link_section is why this
/// is unsafe code: placing data in a section the linker treats specially.
/// `.note.*` sections are notes (SHT_NOTE) to the compiler and the linker,
/// which keep them allocated and read-only, as the format asks.
#[used]
#[link_section = ".note.dlopen"]
static DLOPEN_NOTE: Note = Note {
    namesz: OWNER.len() as u32,
    descsz: DESC_SIZE as u32,
    kind: DLOPEN_METADATA,
    owner: OWNER,
    desc: description(),
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The description is the JSON the specification describes, naming the
    /// library that `Libkmod::open` opens, NUL-terminated and NUL-padded.
    #[test]
    fn the_note_names_the_library_we_open() {
        let desc = &DLOPEN_NOTE.desc;
        let json = &desc[..DLOPEN_NOTE.descsz as usize - 1];
        assert!(desc[json.len()..].iter().all(|&b| b == 0));
        assert_eq!(desc.len() % 4, 0);
        let value: serde_json::Value = serde_json::from_slice(json).unwrap();
        assert_eq!(
            value,
            serde_json::json!([{
                "soname": [LIBRARY],
                "feature": "kmod",
                "description": "Loading kernel modules",
                "priority": "required",
            }])
        );
        assert_eq!(&DLOPEN_NOTE.owner, b"FDO\0");
        assert_eq!(DLOPEN_NOTE.namesz, 4);
    }
}
