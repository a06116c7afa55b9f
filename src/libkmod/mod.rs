//! libkmod, opened with `dlopen("libkmod.so.2")` only when a module must be
//! loaded. This module owns every `unsafe` line of the program.
//!
//! Why not link it: libkmod pulls in libcrypto, libzstd and liblzma, and a
//! process that merely links it starts about twice as slowly, which would
//! double the cost of the fast path that runs at every kubelite restart.
//! systemd opens libkmod the same way. Why not the `kmod` crate: it has no
//! probe, lookup-list or initstate calls, and `kmod-sys` links at load time.
//!
//! The dozen functions we use are resolved once; every reference libkmod
//! hands out is owned by a handle that drops it. libkmod's own messages go
//! to our log (messages.rs).

mod messages;

pub use messages::release_stderr;

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::path::Path;
use std::sync::Mutex;

use libloading::os::unix;
use libloading::Library;

pub const LIBRARY: &str = "libkmod.so.2";

/// `KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY`: modprobe's default without `-b`.
const PROBE_APPLY_BLACKLIST_ALIAS_ONLY: c_uint = 0x40000;
const FILTER_BLACKLIST: c_int = 0x1;

type Ptr = *mut c_void;
type PrintAction = extern "C" fn(module: Ptr, install: bool, options: *const c_char);
type RunInstall = extern "C" fn(module: Ptr, cmdline: *const c_char, data: *const c_void) -> c_int;

struct Api {
    new: unsafe extern "C" fn(*const c_char, *const *const c_char) -> Ptr,
    unref: unsafe extern "C" fn(Ptr) -> Ptr,
    set_log_priority: unsafe extern "C" fn(Ptr, c_int),
    load_resources: unsafe extern "C" fn(Ptr) -> c_int,
    /// The callback's type has a va_list, which Rust cannot name: log.c's
    /// function is passed as a plain pointer.
    set_log_fn: unsafe extern "C" fn(Ptr, *const c_void, *const c_void),
    lookup: unsafe extern "C" fn(Ptr, *const c_char, *mut Ptr) -> c_int,
    list_next: unsafe extern "C" fn(Ptr, Ptr) -> Ptr,
    get_module: unsafe extern "C" fn(Ptr) -> Ptr,
    unref_list: unsafe extern "C" fn(Ptr) -> c_int,
    module_unref: unsafe extern "C" fn(Ptr) -> Ptr,
    get_name: unsafe extern "C" fn(Ptr) -> *const c_char,
    get_path: unsafe extern "C" fn(Ptr) -> *const c_char,
    get_initstate: unsafe extern "C" fn(Ptr) -> c_int,
    get_dependencies: unsafe extern "C" fn(Ptr) -> Ptr,
    apply_filter: unsafe extern "C" fn(Ptr, c_int, Ptr, *mut Ptr) -> c_int,
    probe: unsafe extern "C" fn(
        Ptr,
        c_uint,
        *const c_char,
        Option<RunInstall>,
        *const c_void,
        Option<PrintAction>,
    ) -> c_int,
}

/// The opened library. Keeps it mapped for as long as the function
/// pointers in `api` are used.
pub struct Libkmod {
    api: Api,
    _library: Library,
}

impl Libkmod {
    pub fn open() -> Result<Libkmod, libloading::Error> {
        // NODELETE: the process exits soon after it is done with libkmod,
        // and unmapping it and its libraries first only costs time.
        let flags = unix::RTLD_LAZY | unix::RTLD_LOCAL | nix::libc::RTLD_NODELETE;
        // SAFETY: libkmod's initialisers only set up its own state.
        let library: Library = unsafe { unix::Library::open(Some(LIBRARY), flags)? }.into();
        macro_rules! symbol {
            ($name:literal) => {
                // SAFETY: the type written in `Api` is the C prototype of
                // this symbol in libkmod.h.
                *unsafe { library.get(concat!($name, "\0").as_bytes())? }
            };
        }
        let api = Api {
            new: symbol!("kmod_new"),
            unref: symbol!("kmod_unref"),
            set_log_priority: symbol!("kmod_set_log_priority"),
            set_log_fn: symbol!("kmod_set_log_fn"),
            load_resources: symbol!("kmod_load_resources"),
            lookup: symbol!("kmod_module_new_from_lookup"),
            list_next: symbol!("kmod_list_next"),
            get_module: symbol!("kmod_module_get_module"),
            unref_list: symbol!("kmod_module_unref_list"),
            module_unref: symbol!("kmod_module_unref"),
            get_name: symbol!("kmod_module_get_name"),
            get_path: symbol!("kmod_module_get_path"),
            get_initstate: symbol!("kmod_module_get_initstate"),
            get_dependencies: symbol!("kmod_module_get_dependencies"),
            apply_filter: symbol!("kmod_module_apply_filter"),
            probe: symbol!("kmod_module_probe_insert_module"),
        };
        Ok(Libkmod {
            api,
            _library: library,
        })
    }

    /// A context reading modules from `module_dir` and configuration from
    /// `config_dirs`; `None` for either means libkmod's own defaults
    /// (`/lib/modules/$(uname -r)`, the modprobe.d directories).
    pub fn context(
        &self,
        module_dir: Option<&Path>,
        config_dirs: Option<&[&Path]>,
    ) -> Option<Context<'_>> {
        let dir = module_dir.and_then(path_to_cstring);
        let configs: Option<Vec<CString>> =
            config_dirs.map(|dirs| dirs.iter().filter_map(|d| path_to_cstring(d)).collect());
        let mut config_ptrs: Option<Vec<*const c_char>> = configs.as_ref().map(|c| {
            c.iter()
                .map(|s| s.as_ptr())
                .chain([std::ptr::null()])
                .collect()
        });
        let dir_ptr = dir.as_ref().map_or(std::ptr::null(), |d| d.as_ptr());
        let config_ptr = config_ptrs
            .as_mut()
            .map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: both arguments are NULL or NUL-terminated strings (arrays)
        // that outlive the call; libkmod copies what it keeps.
        let ctx = messages::capturing_stderr(|| unsafe { (self.api.new)(dir_ptr, config_ptr) });
        if ctx.is_null() {
            return None;
        }
        let sink: messages::Sink = messages::forward;
        // SAFETY: ctx is a live context; log.c's function has the prototype
        // kmod_set_log_fn wants and calls `sink`, its data, with a string.
        unsafe {
            (self.api.set_log_fn)(
                ctx,
                messages::kmod_ready_libkmod_log as *const c_void,
                sink as *const c_void,
            );
            (self.api.set_log_priority)(ctx, messages::wanted_priority());
            // Maps the module indexes once, as modprobe does; without it
            // every lookup opens and reads an index file again. On failure
            // (an index missing) libkmod reads the files, as before.
            (self.api.load_resources)(ctx);
        }
        Some(Context {
            lib: self,
            ptr: ctx,
        })
    }
}

fn path_to_cstring(path: &Path) -> Option<CString> {
    CString::new(path.as_os_str().as_encoded_bytes()).ok()
}

/// A `struct kmod_ctx`, unreferenced on drop.
pub struct Context<'l> {
    lib: &'l Libkmod,
    ptr: Ptr,
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        // SAFETY: we own one reference to ptr.
        unsafe { (self.lib.api.unref)(self.ptr) };
    }
}

impl<'l> Context<'l> {
    /// Resolves a name or alias as modprobe does; an unknown name gives an
    /// empty list. Errors are negative errno values.
    pub fn lookup(&self, name: &str) -> Result<ModuleList<'_, 'l>, i32> {
        let name = CString::new(name).map_err(|_| -libc_einval())?;
        let mut list: Ptr = std::ptr::null_mut();
        // SAFETY: ctx is live, name is NUL-terminated, list is an out pointer.
        let rc = unsafe { (self.lib.api.lookup)(self.ptr, name.as_ptr(), &mut list) };
        let list = ModuleList {
            ctx: self,
            ptr: list,
        };
        if rc < 0 {
            return Err(rc);
        }
        Ok(list)
    }
}

fn libc_einval() -> i32 {
    nix::errno::Errno::EINVAL as i32
}

/// A `struct kmod_list` of modules, released on drop.
pub struct ModuleList<'c, 'l> {
    ctx: &'c Context<'l>,
    ptr: Ptr,
}

impl Drop for ModuleList<'_, '_> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: we own the list and one reference to each module in it.
            unsafe { (self.ctx.lib.api.unref_list)(self.ptr) };
        }
    }
}

impl<'c, 'l> ModuleList<'c, 'l> {
    pub fn modules(&self) -> Vec<Module<'c, 'l>> {
        let api = &self.ctx.lib.api;
        let mut modules = Vec::new();
        let mut entry = self.ptr;
        while !entry.is_null() {
            // SAFETY: entry is a node of our list; get_module takes a new
            // reference that the Module handle owns.
            let ptr = unsafe { (api.get_module)(entry) };
            if !ptr.is_null() {
                modules.push(Module { ctx: self.ctx, ptr });
            }
            // SAFETY: entry belongs to the list headed by self.ptr.
            entry = unsafe { (api.list_next)(self.ptr, entry) };
        }
        modules
    }

    /// The names of the modules that modprobe.d `blacklist` lines name.
    pub fn blacklisted(&self) -> Result<Vec<String>, i32> {
        let mut kept: Ptr = std::ptr::null_mut();
        // SAFETY: ctx and the input list are live; `kept` receives a new
        // list with its own references, owned below.
        let rc = unsafe {
            (self.ctx.lib.api.apply_filter)(self.ctx.ptr, FILTER_BLACKLIST, self.ptr, &mut kept)
        };
        let kept = ModuleList {
            ctx: self.ctx,
            ptr: kept,
        };
        if rc < 0 {
            return Err(rc);
        }
        let kept: Vec<String> = kept.modules().iter().map(Module::name).collect();
        Ok(self
            .modules()
            .iter()
            .map(Module::name)
            .filter(|name| !kept.contains(name))
            .collect())
    }
}

/// What the kernel says about a module (`kmod_module_get_initstate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitState {
    Builtin,
    Live,
    Coming,
    Going,
    /// Not in the kernel.
    Absent,
}

/// A `struct kmod_module`, unreferenced on drop.
pub struct Module<'c, 'l> {
    ctx: &'c Context<'l>,
    ptr: Ptr,
}

impl Drop for Module<'_, '_> {
    fn drop(&mut self) {
        // SAFETY: we own one reference to ptr.
        unsafe { (self.ctx.lib.api.module_unref)(self.ptr) };
    }
}

thread_local! {
    /// Modules libkmod is about to insert during a probe; print_action has
    /// no user-data pointer, so the callback records them here.
    static PROBED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static GET_NAME: RefCell<Option<unsafe extern "C" fn(Ptr) -> *const c_char>> = const { RefCell::new(None) };
}

/// What the probe under way is doing, for the watchdog when the timeout
/// passes during it: the module, and whether its `install` command runs
/// (else the kernel inserts it). libkmod calls print_action just before
/// each.
static ACTION: Mutex<Option<(String, bool)>> = Mutex::new(None);

/// The module the running probe is inserting (or running the `install`
/// command of, when the flag is set); `None` outside a probe.
pub fn current_action() -> Option<(String, bool)> {
    ACTION.lock().map(|a| a.clone()).unwrap_or(None)
}

extern "C" fn record_probed(module: Ptr, install: bool, _options: *const c_char) {
    let get_name = GET_NAME.with(|f| *f.borrow());
    if let Some(get_name) = get_name {
        // SAFETY: libkmod passes a live module for the duration of the call.
        let name = unsafe { cstr_to_string(get_name(module)) }.unwrap_or_default();
        if let Ok(mut action) = ACTION.lock() {
            *action = Some((name.clone(), install));
        }
        PROBED.with(|p| p.borrow_mut().push(name));
    }
}

/// # Safety
/// `ptr` is NULL or a NUL-terminated string that outlives the call.
unsafe fn cstr_to_string(ptr: *const c_char) -> Option<String> {
    (!ptr.is_null()).then(|| CStr::from_ptr(ptr).to_string_lossy().into_owned())
}

/// The outcome of `probe`: libkmod's return code and the modules it tried
/// to insert (or whose `install` command it ran), in order.
pub struct Probe {
    pub rc: i32,
    pub attempted: Vec<String>,
}

impl Module<'_, '_> {
    pub fn name(&self) -> String {
        // SAFETY: the module is live; the name is owned by it.
        unsafe { cstr_to_string((self.ctx.lib.api.get_name)(self.ptr)) }.unwrap_or_default()
    }

    /// The `.ko` file, when the module is not built in.
    pub fn path(&self) -> Option<String> {
        // SAFETY: as for name.
        unsafe { cstr_to_string((self.ctx.lib.api.get_path)(self.ptr)) }
    }

    pub fn initstate(&self) -> InitState {
        // SAFETY: the module is live.
        match unsafe { (self.ctx.lib.api.get_initstate)(self.ptr) } {
            0 => InitState::Builtin,
            1 => InitState::Live,
            2 => InitState::Coming,
            3 => InitState::Going,
            _ => InitState::Absent,
        }
    }

    /// The modules this one needs (from modules.dep), in load order.
    pub fn dependencies(&self) -> Vec<String> {
        // SAFETY: the module is live; the returned list is ours.
        let list = unsafe { (self.ctx.lib.api.get_dependencies)(self.ptr) };
        let list = ModuleList {
            ctx: self.ctx,
            ptr: list,
        };
        list.modules().iter().map(Module::name).collect()
    }

    /// Loads the module as `modprobe NAME` would: dependencies, softdeps,
    /// `options` and `install` lines from modprobe.d, and `blacklist` only
    /// for aliases. `install` commands are run by libkmod itself.
    pub fn probe(&self) -> Probe {
        GET_NAME.with(|f| *f.borrow_mut() = Some(self.ctx.lib.api.get_name));
        PROBED.with(|p| p.borrow_mut().clear());
        // SAFETY: the module is live; a NULL run_install makes libkmod use
        // its own runner; record_probed matches print_action's prototype.
        let rc = unsafe {
            (self.ctx.lib.api.probe)(
                self.ptr,
                PROBE_APPLY_BLACKLIST_ALIAS_ONLY,
                std::ptr::null(),
                None,
                std::ptr::null(),
                Some(record_probed),
            )
        };
        // The last action has ended with the probe.
        if let Ok(mut action) = ACTION.lock() {
            *action = None;
        }
        let attempted = PROBED.with(|p| std::mem::take(&mut *p.borrow_mut()));
        Probe { rc, attempted }
    }
}
