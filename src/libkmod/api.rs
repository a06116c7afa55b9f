//! libkmod's C interface as we use it: its constants, the structs it never
//! shows, and the table of its functions resolved from the opened library.
//! Its own room: the one copy of libkmod's prototypes, which
//! tests/libkmod_prototypes.rs reads, apart from the handles (mod.rs) that
//! call them.

use std::ffi::{c_char, c_int, c_uint, c_void};

use libloading::Library;

use super::messages::LogFn;

/// `KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY`: modprobe's default without `-b`.
pub(super) const PROBE_APPLY_BLACKLIST_ALIAS_ONLY: c_uint = 0x40000;
/// `KMOD_FILTER_BLACKLIST`, of `enum kmod_filter` (unsigned: no value is
/// negative).
pub(super) const FILTER_BLACKLIST: c_uint = 0x1;

/// libkmod's structs, which it never shows: we hold pointers to them only.
/// Distinct types, so that a module cannot be passed where a list is due.
macro_rules! opaque {
    ($($name:ident),*) => {$(
        #[repr(C)]
        pub(super) struct $name {
            _private: [u8; 0],
        }
    )*};
}
opaque!(KmodCtx, KmodModule, KmodList);

pub(super) type PrintAction =
    extern "C" fn(module: *mut KmodModule, install: bool, options: *const c_char);
pub(super) type RunInstall =
    extern "C" fn(module: *mut KmodModule, cmdline: *const c_char, data: *mut c_void) -> c_int;

/// The functions we use, each field named after its symbol. These types are
/// the only copy of libkmod's prototypes here; tests/libkmod_prototypes.rs
/// has the C compiler compare each with the installed libkmod.h.
pub(super) struct Api {
    pub(super) kmod_new: unsafe extern "C" fn(*const c_char, *const *const c_char) -> *mut KmodCtx,
    pub(super) kmod_unref: unsafe extern "C" fn(*mut KmodCtx) -> *mut KmodCtx,
    pub(super) kmod_set_log_priority: unsafe extern "C" fn(*mut KmodCtx, c_int),
    pub(super) kmod_load_resources: unsafe extern "C" fn(*mut KmodCtx) -> c_int,
    pub(super) kmod_set_log_fn: unsafe extern "C" fn(*mut KmodCtx, LogFn, *const c_void),
    pub(super) kmod_module_new_from_lookup:
        unsafe extern "C" fn(*mut KmodCtx, *const c_char, *mut *mut KmodList) -> c_int,
    pub(super) kmod_list_next:
        unsafe extern "C" fn(*const KmodList, *const KmodList) -> *mut KmodList,
    pub(super) kmod_module_get_module: unsafe extern "C" fn(*const KmodList) -> *mut KmodModule,
    pub(super) kmod_module_unref_list: unsafe extern "C" fn(*mut KmodList) -> c_int,
    pub(super) kmod_module_unref: unsafe extern "C" fn(*mut KmodModule) -> *mut KmodModule,
    pub(super) kmod_module_get_name: unsafe extern "C" fn(*const KmodModule) -> *const c_char,
    pub(super) kmod_module_get_path: unsafe extern "C" fn(*const KmodModule) -> *const c_char,
    pub(super) kmod_module_get_initstate: unsafe extern "C" fn(*const KmodModule) -> c_int,
    pub(super) kmod_module_get_dependencies:
        unsafe extern "C" fn(*const KmodModule) -> *mut KmodList,
    pub(super) kmod_module_apply_filter:
        unsafe extern "C" fn(*const KmodCtx, c_uint, *const KmodList, *mut *mut KmodList) -> c_int,
    pub(super) kmod_module_probe_insert_module: unsafe extern "C" fn(
        *mut KmodModule,
        c_uint,
        *const c_char,
        Option<RunInstall>,
        *const c_void,
        Option<PrintAction>,
    ) -> c_int,
}

impl Api {
    /// The table, from `library`, which must stay mapped for as long as the
    /// table is used.
    pub(super) fn resolve(library: &Library) -> Result<Api, libloading::Error> {
        // Each field of `Api` from the symbol of its name; the compiler
        // rejects a list that misses a field or names one `Api` lacks.
        macro_rules! resolve {
            ($($symbol:ident),* $(,)?) => {
                Api {$(
                    // SAFETY: the field's type is the symbol's prototype in
                    // libkmod.h (tests/libkmod_prototypes.rs checks it).
                    $symbol: *unsafe { library.get(concat!(stringify!($symbol), "\0").as_bytes())? },
                )*}
            };
        }
        let api = resolve!(
            kmod_new,
            kmod_unref,
            kmod_set_log_priority,
            kmod_set_log_fn,
            kmod_load_resources,
            kmod_module_new_from_lookup,
            kmod_list_next,
            kmod_module_get_module,
            kmod_module_unref_list,
            kmod_module_unref,
            kmod_module_get_name,
            kmod_module_get_path,
            kmod_module_get_initstate,
            kmod_module_get_dependencies,
            kmod_module_apply_filter,
            kmod_module_probe_insert_module,
        );
        Ok(api)
    }
}
