//! Random command lines never make kmod-ready panic, and it always exits
//! with a status from the documented table. Runs against an empty root, so
//! nothing on this machine is loaded and no wait can be long.

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use proptest::prelude::*;

use common::{stderr, FixtureRoot};

const DOCUMENTED: [i32; 8] = [0, 1, 64, 66, 69, 75, 77, 78];

fn argument() -> impl Strategy<Value = OsString> {
    prop_oneof![
        Just(OsString::from("--timeout")),
        Just(OsString::from("--wait-for")),
        Just(OsString::from("--log")),
        Just(OsString::from("-v")),
        Just(OsString::from("-q")),
        Just(OsString::from("--")),
        Just(OsString::from("check")),
        Just(OsString::from("--json")),
        Just(OsString::from("--npd")),
        Just(OsString::from("--next-boot")),
        Just(OsString::from("nf_conntrack")),
        Just(OsString::from("/sys/module/x")),
        "[0-9]{0,4}(ms|s|m|h|d)?".prop_map(OsString::from),
        "[a-z_/.-]{0,12}".prop_map(OsString::from),
        proptest::collection::vec(
            any::<u8>().prop_filter("no NUL in argv", |b| *b != 0),
            0..300
        )
        .prop_map(OsString::from_vec),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_arguments_exit_with_a_documented_status(args in proptest::collection::vec(argument(), 0..6)) {
        let root = FixtureRoot::empty("empty-root");
        let out = root.command().arg("--timeout=300ms").args(&args).output().unwrap();
        let err = stderr(&out);
        prop_assert!(!err.contains("panicked"), "{:?}: {}", args, err);
        let code = out.status.code();
        prop_assert!(code.is_some_and(|c| DOCUMENTED.contains(&c)), "{:?}: exit {:?}: {}", args, code, err);
    }
}
