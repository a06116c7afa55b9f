//! libkmod, opened with `dlopen("libkmod.so.2")` only when a module must be
//! loaded. This module owns every `unsafe` line of the program.
//!
//! Why not link it: libkmod pulls in libcrypto, libzstd and liblzma, and a
//! process that merely links it starts about twice as slowly, which would
//! double the cost of the fast path that runs at every kubelite restart.
//! systemd opens libkmod the same way. Why not the `kmod` crate: it has no
//! probe, lookup-list or initstate calls, and `kmod-sys` links at load time.
//!
//! The dozen functions we use are resolved once (api.rs); every reference
//! libkmod hands out is owned by a handle that drops it. libkmod's own
//! messages go to our log (messages.rs).

mod api;
mod messages;
mod note;

pub use messages::release_stderr;

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::sync::Mutex;

use libloading::os::unix;
use libloading::Library;

use api::{Api, KmodCtx, KmodList, KmodModule, FILTER_BLACKLIST, PROBE_APPLY_BLACKLIST_ALIAS_ONLY};

/// The library we dlopen; note.rs declares it to packagers.
pub const LIBRARY: &str = "libkmod.so.2";

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
        let api = Api::resolve(&library)?;
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
        let ctx =
            messages::capturing_stderr(|| unsafe { (self.api.kmod_new)(dir_ptr, config_ptr) });
        if ctx.is_null() {
            return None;
        }
        let sink: messages::Sink = messages::forward;
        // SAFETY: ctx is a live context; log.c's function is of the type
        // kmod_set_log_fn takes, and calls `sink`, its data, with a string.
        unsafe { (self.api.kmod_set_log_fn)(ctx, messages::log_fn(), sink as *const c_void) };
        // SAFETY: ctx is a live context.
        unsafe { (self.api.kmod_set_log_priority)(ctx, messages::wanted_priority()) };
        // Maps the module indexes once, as modprobe does; without it every
        // lookup opens and reads an index file again. On failure (an index
        // missing) libkmod reads the files, as before.
        // SAFETY: ctx is a live context.
        unsafe { (self.api.kmod_load_resources)(ctx) };
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
    ptr: *mut KmodCtx,
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        // SAFETY: we own one reference to ptr.
        unsafe { (self.lib.api.kmod_unref)(self.ptr) };
    }
}

impl<'l> Context<'l> {
    /// Passes on none of libkmod's messages about this context's tree (a
    /// dependency file it cannot open): the caller reports them itself.
    pub fn silence(&self) {
        // SAFETY: the context is live; no priority is at or below 0 but
        // LOG_EMERG, which libkmod never uses.
        unsafe { (self.lib.api.kmod_set_log_priority)(self.ptr, 0) };
    }

    /// Resolves a name or alias as modprobe does; an unknown name gives an
    /// empty list. Errors are negative errno values.
    pub fn lookup(&self, name: &str) -> Result<ModuleList<'_, 'l>, i32> {
        let name = CString::new(name).map_err(|_| -libc_einval())?;
        let mut list = std::ptr::null_mut();
        // SAFETY: ctx is live, name is NUL-terminated, list is an out pointer.
        let rc = unsafe {
            (self.lib.api.kmod_module_new_from_lookup)(self.ptr, name.as_ptr(), &mut list)
        };
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
    ptr: *mut KmodList,
}

impl Drop for ModuleList<'_, '_> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: we own the list and one reference to each module in it.
            unsafe { (self.ctx.lib.api.kmod_module_unref_list)(self.ptr) };
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
            let ptr = unsafe { (api.kmod_module_get_module)(entry) };
            if !ptr.is_null() {
                modules.push(Module { ctx: self.ctx, ptr });
            }
            // SAFETY: entry belongs to the list headed by self.ptr.
            entry = unsafe { (api.kmod_list_next)(self.ptr, entry) };
        }
        modules
    }

    /// The names of the modules that modprobe.d `blacklist` lines name.
    pub fn blacklisted(&self) -> Result<Vec<String>, i32> {
        let mut kept = std::ptr::null_mut();
        // SAFETY: ctx and the input list are live; `kept` receives a new
        // list with its own references, owned below.
        let rc = unsafe {
            (self.ctx.lib.api.kmod_module_apply_filter)(
                self.ctx.ptr,
                FILTER_BLACKLIST,
                self.ptr,
                &mut kept,
            )
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
    ptr: *mut KmodModule,
}

impl Drop for Module<'_, '_> {
    fn drop(&mut self) {
        // SAFETY: we own one reference to ptr.
        unsafe { (self.ctx.lib.api.kmod_module_unref)(self.ptr) };
    }
}

thread_local! {
    /// Modules libkmod is about to insert during a probe; print_action has
    /// no user-data pointer, so the callback records them here.
    static PROBED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static GET_NAME: RefCell<Option<unsafe extern "C" fn(*const KmodModule) -> *const c_char>> =
        const { RefCell::new(None) };
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

extern "C" fn record_probed(module: *mut KmodModule, install: bool, _options: *const c_char) {
    let get_name = GET_NAME.with(|f| *f.borrow());
    if let Some(get_name) = get_name {
        // SAFETY: libkmod passes a live module for the duration of the call.
        let name = unsafe { get_name(module) };
        // SAFETY: the name is owned by the module.
        let name = unsafe { cstr_to_string(name) }.unwrap_or_default();
        if let Ok(mut action) = ACTION.lock() {
            *action = Some((name.clone(), install));
        }
        PROBED.with(|p| p.borrow_mut().push(name));
    }
}

/// # Safety
/// `ptr` is NULL or a NUL-terminated string that outlives the call.
unsafe fn cstr_to_string(ptr: *const c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: not NULL, so, as the caller promises, a string that outlives
    // the call.
    let text = unsafe { CStr::from_ptr(ptr) };
    Some(text.to_string_lossy().into_owned())
}

/// The outcome of `probe`: libkmod's return code and the modules it tried
/// to insert (or whose `install` command it ran), in order.
pub struct Probe {
    pub rc: i32,
    pub attempted: Vec<String>,
}

impl Module<'_, '_> {
    pub fn name(&self) -> String {
        // SAFETY: the module is live.
        let name = unsafe { (self.ctx.lib.api.kmod_module_get_name)(self.ptr) };
        // SAFETY: the name is owned by the module, which outlives the call.
        unsafe { cstr_to_string(name) }.unwrap_or_default()
    }

    /// The `.ko` file, when the module is not built in.
    pub fn path(&self) -> Option<String> {
        // SAFETY: the module is live.
        let path = unsafe { (self.ctx.lib.api.kmod_module_get_path)(self.ptr) };
        // SAFETY: the path is owned by the module, which outlives the call.
        unsafe { cstr_to_string(path) }
    }

    pub fn initstate(&self) -> InitState {
        // SAFETY: the module is live.
        match unsafe { (self.ctx.lib.api.kmod_module_get_initstate)(self.ptr) } {
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
        let list = unsafe { (self.ctx.lib.api.kmod_module_get_dependencies)(self.ptr) };
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
        GET_NAME.with(|f| *f.borrow_mut() = Some(self.ctx.lib.api.kmod_module_get_name));
        PROBED.with(|p| p.borrow_mut().clear());
        // SAFETY: the module is live; a NULL run_install makes libkmod use
        // its own runner; record_probed matches print_action's prototype.
        let rc = unsafe {
            (self.ctx.lib.api.kmod_module_probe_insert_module)(
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
