//! The C prototypes Rust declares for libkmod and log.c, compared by the C
//! compiler with the installed libkmod.h and with log.h, as systemd's
//! DLSYM_PROTOTYPE does: a wrong argument type would otherwise compile and
//! only misbehave at run time. The Rust declarations stay the one source:
//! this test parses them (the fields of `Api`, the `extern` block, the type
//! aliases), writes a C file with one `__builtin_types_compatible_p`
//! assertion each, and compiles it. Needs cc and libkmod.h (Debian:
//! libkmod-dev, which tests/run-all installs).

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use syn::{FnArg, ForeignItem, Item, PointerMutability, ReturnType, Type};

/// The Rust files that declare C functions and types.
const SOURCES: [&str; 2] = ["src/libkmod/api.rs", "src/libkmod/messages.rs"];

/// Each Rust type of those declarations (but pointers, `Option`s of
/// function pointers, and aliases, which are followed) and its C type.
/// `LogFn` is log.c's function, whose va_list parameter Rust cannot name:
/// here it is compared whole, through log.h's type.
const C_TYPES: [(&str, &str); 9] = [
    ("c_char", "char"),
    ("c_int", "int"),
    ("c_uint", "unsigned int"),
    ("c_void", "void"),
    ("bool", "bool"),
    ("KmodCtx", "struct kmod_ctx"),
    ("KmodModule", "struct kmod_module"),
    ("KmodList", "struct kmod_list"),
    ("LogFn", "kmod_ready_log_fn"),
];

/// Rust aliases for a C typedef of log.h: the function log.c calls.
const ALIAS_TYPEDEFS: [(&str, &str); 1] = [("Sink", "kmod_ready_sink")];

/// A C function as Rust declares it: a symbol and its function type.
struct Function {
    symbol: String,
    params: Vec<Type>,
    ret: Option<Type>,
    file: &'static str,
}

#[derive(Default)]
struct Declarations {
    functions: Vec<Function>,
    aliases: HashMap<String, Type>,
}

impl Declarations {
    /// Reads every `Api` field, `extern "C"` function and type alias.
    fn parse(file: &'static str, source: &str, into: &mut Declarations) {
        let parsed = syn::parse_file(source).unwrap_or_else(|e| panic!("{file}: {e}"));
        for item in parsed.items {
            match item {
                Item::Type(alias) => {
                    into.aliases.insert(alias.ident.to_string(), *alias.ty);
                }
                Item::Struct(api) if api.ident == "Api" => {
                    for field in api.fields {
                        let symbol = field.ident.expect("Api has named fields").to_string();
                        let Type::FnPtr(f) = field.ty else {
                            panic!("{file}: Api.{symbol} is not a function pointer");
                        };
                        assert_c_abi(file, &symbol, f.abi.as_ref());
                        into.functions.push(Function {
                            symbol,
                            params: f.inputs.into_iter().map(|a| a.ty).collect(),
                            ret: return_type(f.output),
                            file,
                        });
                    }
                }
                Item::ForeignMod(block) => {
                    for item in block.items {
                        let ForeignItem::Fn(f) = item else { continue };
                        let symbol = f.sig.ident.to_string();
                        assert_c_abi(file, &symbol, Some(&block.abi));
                        let params = f.sig.inputs.into_iter().map(|arg| match arg {
                            FnArg::Typed(arg) => *arg.ty,
                            FnArg::Receiver(_) => panic!("{file}: {symbol} takes self"),
                        });
                        let params = params.collect();
                        into.functions.push(Function {
                            symbol,
                            params,
                            ret: return_type(f.sig.output),
                            file,
                        });
                    }
                }
                _ => {}
            }
        }
    }
}

fn assert_c_abi(file: &str, symbol: &str, abi: Option<&syn::Abi>) {
    let name = abi
        .and_then(|abi| abi.name.as_ref())
        .map(|name| name.value());
    assert_eq!(
        name.as_deref(),
        Some("C"),
        "{file}: {symbol} is not extern \"C\""
    );
}

fn return_type(output: ReturnType) -> Option<Type> {
    match output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(*ty),
    }
}

/// Writes C types for Rust ones; each function pointer type becomes a
/// typedef, so that the C text never nests declarators.
struct CWriter<'a> {
    aliases: &'a HashMap<String, Type>,
    typedefs: String,
    count: usize,
}

impl CWriter<'_> {
    fn c_type(&mut self, ty: &Type) -> String {
        match ty {
            Type::Ptr(pointer) => {
                let pointee = self.c_type(&pointer.elem);
                match pointer.mutability {
                    PointerMutability::Const(_) => format!("{pointee} const *"),
                    PointerMutability::Mut(_) => format!("{pointee} *"),
                }
            }
            Type::FnPtr(f) => {
                assert_c_abi("a function pointer type", "it", f.abi.as_ref());
                assert!(f.variadic.is_none(), "a variadic function pointer type");
                let params: Vec<&Type> = f.inputs.iter().map(|a| &a.ty).collect();
                let ret = match &f.output {
                    ReturnType::Default => None,
                    ReturnType::Type(_, ty) => Some(&**ty),
                };
                self.function_pointer(&params, ret)
            }
            Type::Paren(inner) => self.c_type(&inner.elem),
            Type::Path(path) => {
                let last = path.path.segments.last().expect("a path has a segment");
                let name = last.ident.to_string();
                if name == "Option" {
                    // A nullable function pointer: the same C type.
                    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                        panic!("Option without a type argument");
                    };
                    let Some(syn::GenericArgument::Type(inner)) = args.args.first() else {
                        panic!("Option without a type argument");
                    };
                    return self.c_type(inner);
                }
                if let Some(target) = self.aliases.get(&name) {
                    return self.c_type(target);
                }
                C_TYPES
                    .iter()
                    .find(|(rust, _)| *rust == name)
                    .map(|(_, c)| c.to_string())
                    .unwrap_or_else(|| {
                        panic!("no C type for the Rust type {name}: add it to C_TYPES")
                    })
            }
            _ => panic!(
                "a Rust type this test cannot translate to C (not a pointer, path or function)"
            ),
        }
    }

    /// A typedef for the pointer to a function of these parameters and
    /// return type, and its name.
    fn function_pointer(&mut self, params: &[&Type], ret: Option<&Type>) -> String {
        let ret = ret.map_or("void".to_string(), |ty| self.c_type(ty));
        let params: Vec<String> = params.iter().map(|ty| self.c_type(ty)).collect();
        let params = if params.is_empty() {
            "void".to_string()
        } else {
            params.join(", ")
        };
        self.count += 1;
        let name = format!("rust_fn_{}", self.count);
        writeln!(self.typedefs, "typedef {ret} (*{name})({params});").unwrap();
        name
    }
}

/// The C file: libkmod.h and log.h, and an assertion for each function
/// and typed alias.
fn c_check(declarations: &Declarations) -> String {
    let mut writer = CWriter {
        aliases: &declarations.aliases,
        typedefs: String::new(),
        count: 0,
    };
    let mut assertions = String::new();
    for f in &declarations.functions {
        let params: Vec<&Type> = f.params.iter().collect();
        let rust = writer.function_pointer(&params, f.ret.as_ref());
        writeln!(
            assertions,
            "_Static_assert(__builtin_types_compatible_p(__typeof__(&{symbol}), {rust}),\n\
             \t\"{symbol}: {file} declares it otherwise than its header\");",
            symbol = f.symbol,
            file = f.file,
        )
        .unwrap();
    }
    for (alias, typedef) in ALIAS_TYPEDEFS {
        let ty = declarations
            .aliases
            .get(alias)
            .unwrap_or_else(|| panic!("no alias {alias}"));
        let rust = writer.c_type(ty);
        writeln!(
            assertions,
            "_Static_assert(__builtin_types_compatible_p({typedef}, {rust}),\n\
             \t\"{alias}: Rust's type is not log.h's {typedef}\");"
        )
        .unwrap();
    }
    format!(
        "/* Written by tests/libkmod_prototypes.rs from {sources}. */\n\
         #include <stdbool.h>\n#include <libkmod.h>\n#include \"log.h\"\n\n{typedefs}\n{assertions}",
        sources = SOURCES.join(" and "),
        typedefs = writer.typedefs,
    )
}

/// Compiles `source` (syntax and assertions only) against libkmod.h and log.h.
fn compile(name: &str, source: &str) -> Output {
    // Tests run in parallel: one file name each compile.
    static COMPILES: AtomicUsize = AtomicUsize::new(0);
    let n = COMPILES.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join(format!("{name}-{}-{n}.c", std::process::id()));
    std::fs::write(&file, source).unwrap();
    let out = Command::new("cc")
        .args(["-std=gnu11", "-Wall", "-Werror", "-fsyntax-only", "-I"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/libkmod"))
        .arg(&file)
        .output()
        .expect("cc runs");
    std::fs::remove_file(&file).unwrap();
    out
}

/// Whether cc finds libkmod.h; says why not.
fn libkmod_h_missing(test: &str) -> bool {
    let out = compile("has-libkmod-h", "#include <libkmod.h>\n");
    if out.status.success() {
        return false;
    }
    let reason = format!(
        "cc cannot include libkmod.h (Debian: apt-get install libkmod-dev): {}",
        common::stderr(&out).lines().next().unwrap_or("")
    );
    common::skip(test, &reason);
    true
}

fn project_declarations() -> Declarations {
    let mut declarations = Declarations::default();
    for file in SOURCES {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        Declarations::parse(file, &source, &mut declarations);
    }
    declarations
}

#[test]
fn rust_declares_each_libkmod_function_as_libkmod_h_does() {
    if libkmod_h_missing("rust_declares_each_libkmod_function_as_libkmod_h_does") {
        return;
    }
    let declarations = project_declarations();
    let symbols: Vec<&str> = declarations
        .functions
        .iter()
        .map(|f| f.symbol.as_str())
        .collect();
    // Both sources are read: a parser that found nothing would pass.
    for expected in [
        "kmod_new",
        "kmod_module_probe_insert_module",
        "kmod_ready_libkmod_log_fn",
    ] {
        assert!(
            symbols.contains(&expected),
            "{expected} not found in {symbols:?}"
        );
    }
    let source = c_check(&declarations);
    let out = compile("libkmod-prototypes", &source);
    assert!(
        out.status.success(),
        "the C compiler finds Rust declarations that differ from libkmod.h or log.h:\n{}\n\
         the C file written from them:\n{source}",
        common::stderr(&out)
    );
}

/// Control: the same check, on a declaration with a wrong argument type (a
/// module where libkmod.h has a context), fails and names the function.
#[test]
fn a_wrong_prototype_fails_the_check() {
    if libkmod_h_missing("a_wrong_prototype_fails_the_check") {
        return;
    }
    let mut declarations = project_declarations();
    declarations.functions.clear();
    let wrong =
        r#"struct Api { kmod_unref: unsafe extern "C" fn(*mut KmodModule) -> *mut KmodCtx }"#;
    Declarations::parse("a wrong Api", wrong, &mut declarations);
    let out = compile("wrong-prototype", &c_check(&declarations));
    let err = common::stderr(&out);
    assert!(!out.status.success(), "a wrong prototype compiled:\n{err}");
    assert!(
        err.contains("kmod_unref: a wrong Api declares it otherwise than its header"),
        "{err}"
    );
}
