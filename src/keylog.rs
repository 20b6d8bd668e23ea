//! `mywire keylog [--out FILE] -- COMMAND...`: runs COMMAND with the
//! `mywire-keylog` preload (workspace member `keylog/`), so that OpenSSL writes
//! the NSS key log of every TLS connection COMMAND makes or accepts; tshark
//! (`-o tls.keylog_file:FILE`) then decrypts a capture of that traffic.
//!
//! Before anything runs, COMMAND is inspected: looked up in `PATH`, `#!`
//! interpreters followed (`env` included), then the ELF file and the shared
//! objects it needs, found as the dynamic loader would (`RPATH`/`RUNPATH`,
//! `LD_LIBRARY_PATH`, `/etc/ld.so.conf`, the default directories).
//! - It needs `libssl.so.*` (OpenSSL 1.1.1/3.x): run with `LD_PRELOAD`
//!   (appended to an existing one) and `MYWIRE_KEYLOG`.
//! - It needs no TLS library: run the same way; it may load libssl at run
//!   time, as Python's `ssl` module and PHP's extensions do.
//! - Static, carrying its own OpenSSL/BoringSSL, Go, Java, or linked against
//!   GnuTLS, NSS, wolfSSL, mbedTLS or OpenSSL 1.0: refused with the reason and
//!   what to do instead (exit 2; `--force` runs it anyway).
//!
//! mywire waits for COMMAND (forwarding SIGTERM, SIGHUP, SIGUSR1/2, and SIGINT
//! and SIGQUIT unless a terminal already sent them), says how many keys were
//! written and where, reminds that the file must be deleted, and exits with
//! COMMAND's code (128 + signal when a signal ended it).
//!
//! Caps: [`MAX_ELF_BYTES`] read per file, [`MAX_OBJECTS`] shared objects per
//! program, [`MAX_SCRIPT_DEPTH`] interpreters, [`MAX_LD_CONF_DEPTH`] nested
//! `include`s; reaching one adds a note to the inspection, never a failure.

use anyhow::{Context, Result};
use clap::Args;
use goblin::elf::Elf;
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// File name of the preload library (`cargo build --release --workspace` puts
/// it next to the `mywire` binary).
pub const PRELOAD_FILE: &str = "libmywire_keylog.so";
/// Environment variable naming the preload library, looked at first.
pub const ENV_PRELOAD: &str = "MYWIRE_PRELOAD";
/// Environment variable the preload reads: where the key log goes.
pub const ENV_KEYLOG: &str = "MYWIRE_KEYLOG";
/// Largest file read for inspection (512 MiB); a larger one is not inspected.
pub const MAX_ELF_BYTES: u64 = 512 << 20;
/// Shared objects inspected per program (the dependency closure).
pub const MAX_OBJECTS: usize = 256;
/// `#!` interpreters followed from COMMAND.
pub const MAX_SCRIPT_DEPTH: usize = 4;
/// Nested `include` levels followed in `/etc/ld.so.conf`.
pub const MAX_LD_CONF_DEPTH: usize = 4;
/// Bytes of a `#!` line read (the kernel's own limit, BINPRM_BUF_SIZE).
const SHEBANG_MAX: usize = 256;
/// Longest key-log line read back for the summary; longer ones are skipped.
const MAX_LINE: usize = 4096;
/// `PATH` when the environment has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Where the preload is looked for after `$MYWIRE_PRELOAD` and the binary's own directory.
const PRELOAD_DIRS: [&str; 3] = ["../lib/mywire", "/usr/local/lib/mywire", "/usr/lib/mywire"];

/// `mywire keylog`.
#[derive(Debug, Args)]
pub struct KeylogArgs {
    /// Key log file (NSS format), appended to, created 0600 by COMMAND's user.
    /// Default: mywire-keylog-<PID>.txt in the current directory (PID: mywire's).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Run COMMAND even when it cannot be hooked (nothing will be logged for it).
    #[arg(long)]
    pub force: bool,
    /// Only inspect COMMAND and say whether it can be hooked (exit 0 if so, 2 if not).
    #[arg(long)]
    pub check: bool,
    /// The program to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// A TLS library, recognised by its soname.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsLib {
    /// OpenSSL 1.1.x/3.x (`libssl.so.3`, `libssl.so.1.1`): the preload's target.
    OpenSsl,
    /// OpenSSL 1.0.x (`libssl.so.1.0.*`, RHEL 7's `libssl.so.10`): no key-log callback.
    OpenSsl10,
    /// GnuTLS (`libgnutls.so.30`).
    GnuTls,
    /// Mozilla NSS (`libnss3.so`, `libssl3.so`).
    Nss,
    /// wolfSSL (`libwolfssl.so.*`).
    WolfSsl,
    /// Mbed TLS (`libmbedtls.so.*`).
    MbedTls,
    /// A Java runtime (`libjli.so`, `libjvm.so`): TLS is JSSE, in Java.
    Java,
}

impl TlsLib {
    /// The TLS library a soname (or a path to one) belongs to.
    pub fn of_soname(name: &str) -> Option<TlsLib> {
        let base = name.rsplit('/').next().unwrap_or(name);
        if let Some(v) = base.strip_prefix("libssl.so") {
            return Some(if v.starts_with(".1.0") || v == ".10" { TlsLib::OpenSsl10 } else { TlsLib::OpenSsl });
        }
        Some(match base {
            "libnss3.so" | "libssl3.so" => TlsLib::Nss,
            "libjli.so" | "libjvm.so" => TlsLib::Java,
            _ if base.starts_with("libgnutls.so") => TlsLib::GnuTls,
            _ if base.starts_with("libwolfssl.so") => TlsLib::WolfSsl,
            _ if base.starts_with("libmbedtls.so") => TlsLib::MbedTls,
            _ => return None,
        })
    }

    /// What to do instead when the preload cannot reach this library.
    fn instead(self) -> &'static str {
        match self {
            TlsLib::OpenSsl => "",
            TlsLib::OpenSsl10 => "OpenSSL 1.0 has no key-log callback: use a build against OpenSSL 1.1.1 or 3.x",
            TlsLib::GnuTls => "GnuTLS writes the key log itself: set SSLKEYLOGFILE=FILE in the program's environment",
            TlsLib::Nss => {
                "NSS writes the key log itself when built to (SSLKEYLOGFILE=FILE; Debian's NSS is built without it): \
                 use a build with NSS_ALLOW_SSLKEYLOGFILE"
            }
            TlsLib::WolfSsl => {
                "wolfSSL logs keys only through wolfSSL_CTX_set_keylog_callback (built with HAVE_SECRET_CALLBACK), \
                 which the program itself must call"
            }
            TlsLib::MbedTls => "Mbed TLS exports keys only through mbedtls_ssl_set_export_keys_cb, which the program itself must call",
            TlsLib::Java => {
                "Java's TLS is JSSE, not OpenSSL: use a key-log Java agent (-javaagent:..., jSSLKeyLog-style) \
                 on the JVM's command line"
            }
        }
    }
}

/// What the preload can do for a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// OpenSSL's libssl is loaded through the dynamic loader: every connection
    /// made through it is logged.
    Hookable {
        /// The libssl soname (`libssl.so.3`).
        lib: String,
        /// The object that needs it (the program or one of its libraries).
        needed_by: PathBuf,
    },
    /// No TLS library is linked; one loaded at run time (`dlopen`) is hooked too.
    NotLinked,
    /// The preload cannot reach the program's TLS.
    Refused {
        /// Why not.
        why: String,
        /// What to do instead.
        instead: String,
    },
}

/// ELF class and machine, to match the preload to the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arch {
    /// ELFCLASS64.
    pub is_64: bool,
    /// `e_machine`.
    pub machine: u16,
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.machine {
            goblin::elf::header::EM_X86_64 => "x86-64",
            goblin::elf::header::EM_386 => "i386",
            goblin::elf::header::EM_AARCH64 => "aarch64",
            goblin::elf::header::EM_ARM => "arm",
            goblin::elf::header::EM_RISCV => "riscv",
            goblin::elf::header::EM_PPC64 => "ppc64",
            goblin::elf::header::EM_S390 => "s390",
            _ => "machine",
        };
        write!(f, "{name} ({}-bit, e_machine {})", if self.is_64 { 64 } else { 32 }, self.machine)
    }
}

/// The result of inspecting COMMAND.
#[derive(Clone, Debug)]
pub struct Inspection {
    /// The file COMMAND names, then each `#!` interpreter followed; the last
    /// one is the ELF program inspected.
    pub chain: Vec<PathBuf>,
    /// Whether and how it can be hooked.
    pub verdict: Verdict,
    /// The program's ELF class and machine, when it is an ELF file.
    pub arch: Option<Arch>,
    /// Other facts worth saying (other TLS libraries, caps reached, missing libraries).
    pub notes: Vec<String>,
}

impl Inspection {
    /// True when the verdict is a refusal.
    pub fn refused(&self) -> bool {
        matches!(self.verdict, Verdict::Refused { .. })
    }

    /// The program inspected, as people should read it (with the script it runs, if any).
    fn program(&self) -> String {
        let last = self.chain.last().map(|p| p.display().to_string()).unwrap_or_default();
        match self.chain.first() {
            Some(first) if self.chain.len() > 1 => format!("{last} (interpreter of {})", first.display()),
            _ => last,
        }
    }

    /// One line: the program and the verdict.
    pub fn summary(&self) -> String {
        let prog = self.program();
        match &self.verdict {
            Verdict::Hookable { lib, needed_by } => {
                if self.chain.last() == Some(needed_by) {
                    format!("{prog} links {lib}: hookable")
                } else {
                    format!("{prog} links {lib} (through {}): hookable", needed_by.display())
                }
            }
            Verdict::NotLinked => format!(
                "{prog} links no TLS library: hookable if it loads OpenSSL's libssl at run time \
                 (Python's ssl module and PHP's openssl extension do)"
            ),
            Verdict::Refused { why, instead } => format!("cannot hook {prog}: {why}. {instead}"),
        }
    }
}

/// Finds COMMAND as `execvp` would: a name with a `/` as is, others in `path`.
pub fn resolve_command(name: &OsStr, path: &OsStr) -> Option<PathBuf> {
    if name.as_bytes().contains(&b'/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    if name.is_empty() {
        return None;
    }
    std::env::split_paths(path)
        .map(|d| if d.as_os_str().is_empty() { PathBuf::from(".") } else { d })
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// The interpreter and its optional argument from a `#!` line (`None`: not a script).
pub fn parse_shebang(head: &[u8]) -> Option<(PathBuf, Option<String>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next().unwrap_or(rest);
    let line = String::from_utf8_lossy(line);
    let line = line.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r');
    // Linux: the interpreter ends at the first blank; the rest is one argument.
    let (interp, arg) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], Some(line[i..].trim_matches([' ', '\t']).to_string()).filter(|a| !a.is_empty())),
        None => (line, None),
    };
    (!interp.is_empty()).then(|| (PathBuf::from(interp), arg))
}

/// The program `env [-S] [-i] [NAME=VALUE...] PROGRAM` runs, from `env`'s argument.
fn env_program(arg: &str) -> Option<&str> {
    arg.split_whitespace().find(|w| !w.starts_with('-') && !w.contains('='))
}

/// Inspects COMMAND (already resolved) and says whether the preload can reach its TLS.
pub fn inspect(command: &Path, path_env: &OsStr) -> Inspection {
    let mut chain = vec![command.to_path_buf()];
    let mut notes = Vec::new();
    let refused = |chain: Vec<PathBuf>, notes: Vec<String>, why: String, instead: &str| Inspection {
        chain,
        verdict: Verdict::Refused { why, instead: instead.to_string() },
        arch: None,
        notes,
    };
    if let Some(why) = secure_exec(command) {
        return refused(chain, notes, why, "Run it as the user who owns it, or without the set-ID bit");
    }
    let mut file = command.to_path_buf();
    for depth in 0.. {
        let mut head = Vec::with_capacity(SHEBANG_MAX);
        if let Err(e) = std::fs::File::open(&file).and_then(|f| f.take(SHEBANG_MAX as u64).read_to_end(&mut head)) {
            return refused(chain, notes, format!("cannot read {}: {e}", file.display()), "");
        }
        let Some((interp, arg)) = parse_shebang(&head) else { break };
        if depth >= MAX_SCRIPT_DEPTH {
            return refused(chain, notes, format!("more than {MAX_SCRIPT_DEPTH} #! interpreters in a row"), "");
        }
        let next = if interp.file_name() == Some(OsStr::new("env")) {
            match arg.as_deref().and_then(env_program) {
                Some(p) => resolve_command(OsStr::new(p), path_env),
                None => None,
            }
        } else {
            Some(interp.clone()).filter(|p| p.is_file())
        };
        let Some(next) = next else {
            let shown = format!("{}{}", interp.display(), arg.map(|a| format!(" {a}")).unwrap_or_default());
            return refused(chain, notes, format!("its #! interpreter `{shown}` was not found"), "");
        };
        file = next;
        chain.push(file.clone());
    }
    let exe = match read_obj(&file) {
        Ok(o) => o,
        Err(why) => return refused(chain, notes, why, ""),
    };
    let mut insp = Inspection { chain, verdict: Verdict::NotLinked, arch: Some(exe.arch), notes: Vec::new() };
    insp.verdict = judge(&exe, &mut notes);
    insp.notes = notes;
    insp
}

/// The verdict for an ELF program (its closure is walked here).
fn judge(exe: &Obj, notes: &mut Vec<String>) -> Verdict {
    let refuse = |why: String, instead: &str| Verdict::Refused { why, instead: instead.to_string() };
    if exe.go {
        return refuse(
            "it is a Go program: Go's TLS is crypto/tls, not OpenSSL".into(),
            "Go programs log keys through tls.Config.KeyLogWriter, which the program must set",
        );
    }
    if exe.interp.is_none() && exe.needed.is_empty() {
        let what = exe.embedded.as_deref().map(|e| format!(", with {e} inside it")).unwrap_or_default();
        return refuse(
            format!("it is statically linked{what}: the dynamic loader, and so LD_PRELOAD, never runs for it"),
            "Rebuild it against the shared libssl, or use the program's own key-log option (SSLKEYLOGFILE in curl, for one)",
        );
    }
    if exe.defines_ssl {
        let what = exe.embedded.as_deref().unwrap_or("OpenSSL-compatible code");
        return refuse(
            format!("it carries its own copy of {what} (it defines SSL_CTX_new), which calls made inside it never leave"),
            "Rebuild it against the shared libssl, or use the program's own key-log option",
        );
    }
    let found = walk(exe, notes);
    if let Some((lib, by)) = found.iter().find(|(l, _)| TlsLib::of_soname(l) == Some(TlsLib::OpenSsl)) {
        for (other, oby) in found.iter().filter(|(l, _)| TlsLib::of_soname(l) != Some(TlsLib::OpenSsl)) {
            notes
                .push(format!("it also loads {other} (needed by {}): connections made through that library are not logged", oby.display()));
        }
        return Verdict::Hookable { lib: lib.clone(), needed_by: by.clone() };
    }
    if let Some((lib, by)) = found.first() {
        let kind = TlsLib::of_soname(lib).unwrap_or(TlsLib::OpenSsl10);
        let why = match kind {
            TlsLib::Java => format!("it is a Java runtime ({lib}, needed by {})", by.display()),
            _ => format!("its TLS library is {lib} (needed by {}), not OpenSSL 1.1.1/3.x", by.display()),
        };
        return refuse(why, kind.instead());
    }
    Verdict::NotLinked
}

/// Set-ID programs run in secure-execution mode, where the loader ignores `LD_PRELOAD`.
fn secure_exec(p: &Path) -> Option<String> {
    let m = std::fs::metadata(p).ok()?;
    let (euid, egid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    if m.mode() & 0o4000 != 0 && m.uid() != euid {
        return Some(format!("it is set-user-ID (owner uid {}): the dynamic loader ignores LD_PRELOAD for it", m.uid()));
    }
    if m.mode() & 0o2000 != 0 && m.gid() != egid {
        return Some(format!("it is set-group-ID (group gid {}): the dynamic loader ignores LD_PRELOAD for it", m.gid()));
    }
    None
}

/// What inspection needs from one ELF file.
#[derive(Clone, Debug)]
struct Obj {
    path: PathBuf,
    arch: Arch,
    interp: Option<String>,
    needed: Vec<String>,
    rpath: Vec<String>,
    runpath: Vec<String>,
    /// Defines `SSL_CTX_new` itself (OpenSSL, BoringSSL or LibreSSL inside).
    defines_ssl: bool,
    /// Exports the preload's marker.
    is_preload: bool,
    /// Carries Go build information.
    go: bool,
    /// A TLS library's version string found inside (static or embedded copies only).
    embedded: Option<String>,
}

/// Reads and parses one ELF file (at most [`MAX_ELF_BYTES`]).
fn read_obj(path: &Path) -> std::result::Result<Obj, String> {
    let shown = path.display();
    let len = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?.len();
    if len > MAX_ELF_BYTES {
        return Err(format!("{shown} is larger than {} MiB: not inspected", MAX_ELF_BYTES >> 20));
    }
    let data = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !data.starts_with(b"\x7fELF") {
        return Err(format!("{shown} is neither an ELF program nor a #! script"));
    }
    // goblin is fuzzed, but a panic here must not take mywire down with it.
    let parsed = std::panic::catch_unwind(|| obj_from(path, &data));
    match parsed {
        Ok(Ok(o)) => Ok(o),
        Ok(Err(e)) => Err(format!("{shown} is not an ELF file goblin can read: {e}")),
        Err(_) => Err(format!("{shown} is not an ELF file goblin can read (the parser gave up)")),
    }
}

fn obj_from(path: &Path, data: &[u8]) -> goblin::error::Result<Obj> {
    let elf = Elf::parse(data)?;
    let defines = |name: &str| {
        elf.dynsyms.iter().any(|s| s.st_shndx != 0 && elf.dynstrtab.get_at(s.st_name) == Some(name))
            || elf.syms.iter().any(|s| s.st_shndx != 0 && elf.strtab.get_at(s.st_name) == Some(name))
    };
    let split = |v: &[&str]| v.iter().flat_map(|s| s.split(':')).filter(|s| !s.is_empty()).map(str::to_string).collect();
    let defines_ssl = defines("SSL_CTX_new");
    let is_static = elf.interpreter.is_none() && elf.libraries.is_empty();
    let embedded = if defines_ssl || is_static { embedded_tls(data, defines_ssl) } else { None };
    Ok(Obj {
        path: path.to_path_buf(),
        arch: Arch { is_64: elf.is_64, machine: elf.header.e_machine },
        interp: elf.interpreter.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        rpath: split(&elf.rpaths),
        runpath: split(&elf.runpaths),
        defines_ssl,
        is_preload: defines("mywire_keylog_version"),
        go: memchr::memmem::find(data, b"\xff Go buildinf:").is_some(),
        embedded,
    })
}

/// What TLS code a static or self-contained program carries, from its
/// symbols and strings (a stripped binary keeps the strings).
fn embedded_tls(data: &[u8], defines_ssl: bool) -> Option<String> {
    let has = |needle: &[u8]| memchr::memmem::find(data, needle);
    // a version string, when the linker kept it: "OpenSSL 3.0.13 30 Jan 2024"
    let version = |i: usize| {
        let tail = data.get(i..).unwrap_or_default();
        let end = tail.iter().take(48).position(|&b| !(0x20..0x7f).contains(&b)).unwrap_or(tail.len().min(48));
        String::from_utf8_lossy(tail.get(..end).unwrap_or_default()).trim().to_string()
    };
    if has(b"BoringSSL").is_some() {
        return Some("BoringSSL".into());
    }
    for v in [&b"LibreSSL "[..], b"OpenSSL 3.", b"OpenSSL 1."] {
        if let Some(i) = has(v) {
            return Some(version(i));
        }
    }
    if has(b"openssl.cnf").is_some() {
        return Some("OpenSSL".into());
    }
    if defines_ssl {
        return Some("OpenSSL-compatible code".into());
    }
    for (needle, name) in [(&b"wolfSSL"[..], "wolfSSL"), (b"GnuTLS", "GnuTLS"), (b"mbed TLS", "Mbed TLS")] {
        if has(needle).is_some() {
            return Some(name.into());
        }
    }
    has(b"CRYPTOGAMS by <appro@openssl.org>").map(|_| "OpenSSL-derived cryptography".into())
}

/// Walks the program's shared-object closure; returns each TLS library found
/// (soname) with the object that needs it, in load order.
fn walk(exe: &Obj, notes: &mut Vec<String>) -> Vec<(String, PathBuf)> {
    let search = Search::new(exe.arch);
    let mut found = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: std::collections::VecDeque<(String, usize)> = exe.needed.iter().map(|n| (n.clone(), 0)).collect();
    let mut objs: Vec<Obj> = vec![exe.clone()];
    while let Some((name, by)) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(parent) = objs.get(by) else { continue };
        let parent_path = parent.path.clone();
        if TlsLib::of_soname(&name).is_some() {
            found.push((name.clone(), parent_path.clone()));
        }
        if objs.len() >= MAX_OBJECTS {
            notes.push(format!("stopped after {MAX_OBJECTS} shared objects: libraries past them were not inspected"));
            break;
        }
        match search.find(&name, parent, exe) {
            Some(o) => {
                let i = objs.len();
                queue.extend(o.needed.iter().map(|n| (n.clone(), i)));
                objs.push(o);
            }
            None => notes.push(format!("{name} (needed by {}) was not found", parent_path.display())),
        }
    }
    found
}

/// Library directories, in the dynamic loader's order.
struct Search {
    arch: Arch,
    ld_library_path: Vec<PathBuf>,
    system: Vec<PathBuf>,
}

impl Search {
    fn new(arch: Arch) -> Search {
        let ld_library_path = std::env::var_os("LD_LIBRARY_PATH")
            .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
            .unwrap_or_default();
        let mut system = Vec::new();
        ld_so_conf(Path::new("/etc/ld.so.conf"), 0, &mut system);
        let triplet = match (arch.machine, arch.is_64) {
            (goblin::elf::header::EM_X86_64, true) => Some("x86_64-linux-gnu"),
            (goblin::elf::header::EM_AARCH64, true) => Some("aarch64-linux-gnu"),
            (goblin::elf::header::EM_386, false) => Some("i386-linux-gnu"),
            _ => None,
        };
        if let Some(t) = triplet {
            system.push(PathBuf::from(format!("/lib/{t}")));
            system.push(PathBuf::from(format!("/usr/lib/{t}")));
        }
        let defaults: &[&str] =
            if arch.is_64 { &["/lib64", "/usr/lib64", "/lib", "/usr/lib"] } else { &["/lib32", "/usr/lib32", "/lib", "/usr/lib"] };
        system.extend(defaults.iter().map(PathBuf::from));
        Search { arch, ld_library_path, system }
    }

    /// Finds `name` as needed by `parent` (the executable's RPATH applies too, as in ld.so).
    fn find(&self, name: &str, parent: &Obj, exe: &Obj) -> Option<Obj> {
        let origin = |o: &Obj, d: &str| {
            // ld.so takes $ORIGIN from the object's real path, links resolved
            let real = std::fs::canonicalize(&o.path).unwrap_or_else(|_| o.path.clone());
            let dir = real.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| ".".into());
            PathBuf::from(d.replace("${ORIGIN}", &dir).replace("$ORIGIN", &dir))
        };
        let mut dirs: Vec<PathBuf> = Vec::new();
        if name.contains('/') {
            return self.try_path(Path::new(name));
        }
        if parent.runpath.is_empty() {
            dirs.extend(parent.rpath.iter().map(|d| origin(parent, d)));
            if exe.runpath.is_empty() {
                dirs.extend(exe.rpath.iter().map(|d| origin(exe, d)));
            }
        }
        dirs.extend(self.ld_library_path.iter().cloned());
        dirs.extend(parent.runpath.iter().map(|d| origin(parent, d)));
        dirs.extend(self.system.iter().cloned());
        dirs.iter().find_map(|d| self.try_path(&d.join(name)))
    }

    fn try_path(&self, p: &Path) -> Option<Obj> {
        if !p.is_file() {
            return None;
        }
        read_obj(p).ok().filter(|o| o.arch == self.arch)
    }
}

/// Directories listed in an `ld.so.conf` file, following `include` globs.
fn ld_so_conf(path: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_LD_CONF_DEPTH {
        return;
    }
    let Ok(text) = std::fs::read_to_string(path) else { return };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pat) = line.strip_prefix("include").filter(|r| r.starts_with([' ', '\t'])) {
            for p in pat.split_whitespace() {
                let pat = if p.starts_with('/') { PathBuf::from(p) } else { Path::new("/etc").join(p) };
                for f in glob_one_star(&pat) {
                    ld_so_conf(&f, depth + 1, out);
                }
            }
        } else if !line.is_empty() && !line.starts_with("hwcap") {
            out.push(PathBuf::from(line));
        }
    }
}

/// Files matching a path whose last component has at most one `*`, sorted.
fn glob_one_star(pat: &Path) -> Vec<PathBuf> {
    let name = pat.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let Some((pre, post)) = name.split_once('*') else { return vec![pat.to_path_buf()] };
    let dir = pat.parent().unwrap_or(Path::new("/"));
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    n.len() >= pre.len() + post.len() && n.starts_with(pre) && n.ends_with(post)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Finds the preload library: `$MYWIRE_PRELOAD`, next to the running binary,
/// `../lib/mywire/` from it, `/usr/local/lib/mywire`, `/usr/lib/mywire`.
pub fn find_preload() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(ENV_PRELOAD).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return std::fs::canonicalize(&p).with_context(|| format!("{ENV_PRELOAD}={}", p.display()));
    }
    let exe_dir = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf));
    let mut tried = Vec::new();
    if let Some(d) = &exe_dir {
        tried.push(d.join(PRELOAD_FILE));
    }
    for d in PRELOAD_DIRS {
        match &exe_dir {
            Some(e) if !d.starts_with('/') => tried.push(e.join(d).join(PRELOAD_FILE)),
            _ if d.starts_with('/') => tried.push(Path::new(d).join(PRELOAD_FILE)),
            _ => {}
        }
    }
    for p in &tried {
        if p.is_file() {
            return std::fs::canonicalize(p).with_context(|| format!("resolving {}", p.display()));
        }
    }
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    anyhow::bail!(
        "the preload library {PRELOAD_FILE} was not found (looked at {}); build it with `cargo build --release --workspace` \
         (it lands next to the mywire binary) or point {ENV_PRELOAD} at it",
        list.join(", ")
    )
}

/// The key log's absolute path; refuses a symlink or a non-regular file there.
fn keylog_path(out: Option<PathBuf>) -> std::result::Result<PathBuf, String> {
    let p = out.unwrap_or_else(|| PathBuf::from(format!("mywire-keylog-{}.txt", std::process::id())));
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let abs = cwd.join(&p);
    let name = abs.file_name().ok_or_else(|| format!("--out {} names no file", p.display()))?.to_os_string();
    let dir = abs.parent().unwrap_or(Path::new("/"));
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("--out {}: directory {}: {e}", p.display(), dir.display()))?;
    let abs = dir.join(name);
    match std::fs::symlink_metadata(&abs) {
        Ok(m) if m.file_type().is_symlink() => {
            Err(format!("{} is a symbolic link: refused (the key log is never written through a link)", abs.display()))
        }
        Ok(m) if !m.is_file() => Err(format!("{} exists and is not a regular file: refused", abs.display())),
        Ok(m) if m.nlink() != 1 => Err(format!("{} has {} hard links: refused", abs.display(), m.nlink())),
        _ => Ok(abs),
    }
}

/// `LD_PRELOAD` with the preload appended (once).
fn ld_preload_value(existing: Option<&OsStr>, ours: &Path) -> std::result::Result<OsString, String> {
    let ours_b = ours.as_os_str().as_bytes();
    if ours_b.iter().any(|&b| b == b' ' || b == b':') {
        return Err(format!("the preload's path {} has a space or a colon, which LD_PRELOAD cannot carry", ours.display()));
    }
    let existing = existing.map(OsStr::as_bytes).unwrap_or_default();
    if existing.split(|&b| b == b' ' || b == b':').any(|e| e == ours_b) {
        return Ok(OsStr::from_bytes(existing).to_os_string());
    }
    let mut v = existing.to_vec();
    if !v.is_empty() {
        v.push(b':');
    }
    v.extend_from_slice(ours_b);
    Ok(OsStr::from_bytes(&v).to_os_string())
}

/// Lines appended to the key log since `from`: (all lines, TLS 1.3 sessions, TLS 1.2 sessions).
fn count_keys(path: &Path, from: u64) -> (u64, u64, u64) {
    let Ok(mut f) = std::fs::File::open(path) else { return (0, 0, 0) };
    if f.seek(SeekFrom::Start(from)).is_err() {
        return (0, 0, 0);
    }
    let mut r = BufReader::new(f);
    let (mut lines, mut tls13, mut tls12) = (0, 0, 0);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // a bounded read per line: a corrupt file cannot make this grow
        match r.by_ref().take(MAX_LINE as u64).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buf.last() != Some(&b'\n') && buf.len() >= MAX_LINE {
            let _ = r.by_ref().skip_until(b'\n');
            continue;
        }
        lines += 1;
        if buf.starts_with(b"CLIENT_TRAFFIC_SECRET_0 ") {
            tls13 += 1;
        } else if buf.starts_with(b"CLIENT_RANDOM ") {
            tls12 += 1;
        }
    }
    (lines, tls13, tls12)
}

/// Signals passed on to COMMAND.
const FORWARDED: [i32; 6] = {
    use signal_hook::consts::signal::*;
    [SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT]
};

/// Runs `cmd`, forwarding signals sent to mywire, and returns its exit status.
fn run_forwarding(cmd: &mut std::process::Command) -> std::io::Result<std::process::ExitStatus> {
    use nix::sys::signal::{Signal, kill};
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    use nix::unistd::Pid;
    // Caught, not blocked: exec resets caught signals to their default in the
    // child, while a blocked mask would be inherited.
    let mut signals = signal_hook::iterator::Signals::new(FORWARDED)?;
    let handle = signals.handle();
    let mut child = cmd.spawn()?;
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let alive = Arc::new(Mutex::new(true));
    // A terminal sends SIGINT/SIGQUIT to the whole foreground group: COMMAND has them already.
    let tty = std::io::stdin().is_terminal();
    let gate = Arc::clone(&alive);
    let forwarder = std::thread::spawn(move || {
        for raw in signals.forever() {
            let Ok(sig) = Signal::try_from(raw) else { continue };
            if tty && matches!(sig, Signal::SIGINT | Signal::SIGQUIT) {
                continue;
            }
            // Held while signalling: the child is not reaped (its pid not reused) meanwhile.
            let alive = gate.lock().unwrap_or_else(|e| e.into_inner());
            if *alive {
                let _ = kill(pid, sig);
            }
        }
    });
    // Wait for the exit without reaping, close the gate, then reap.
    while let Err(nix::errno::Errno::EINTR) = waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {}
    *alive.lock().unwrap_or_else(|e| e.into_inner()) = false;
    let status = child.wait();
    handle.close();
    let _ = forwarder.join();
    status
}

/// `mywire keylog`: inspect COMMAND, run it with the preload, report the key log.
pub fn run(a: KeylogArgs) -> Result<u8> {
    let Some((prog, rest)) = a.command.split_first() else { anyhow::bail!("mywire keylog needs a COMMAND after --") };
    let path_env = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    let Some(exe) = resolve_command(prog, &path_env) else {
        eprintln!("mywire keylog: {}: command not found", prog.to_string_lossy());
        return Ok(127);
    };
    let mut insp = inspect(&exe, &path_env);
    if a.check {
        println!("{}", insp.summary());
        for n in &insp.notes {
            println!("  note: {n}");
        }
        return Ok(if insp.refused() { 2 } else { 0 });
    }
    let out = match keylog_path(a.out) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("mywire keylog: {why}");
            return Ok(2);
        }
    };
    let preload = find_preload()?;
    let pre = read_obj(&preload).map_err(|e| anyhow::anyhow!("the preload library: {e}"))?;
    if !pre.is_preload {
        anyhow::bail!("{} is not the mywire-keylog library (no mywire_keylog_version symbol)", preload.display());
    }
    if let Some(arch) = insp.arch.filter(|a| *a != pre.arch) {
        insp.verdict = Verdict::Refused {
            why: format!("it is {arch} and the preload library {} is {}", preload.display(), pre.arch),
            instead: "Build mywire-keylog for that target (cargo build --release -p mywire-keylog --target ...)".into(),
        };
    }
    for n in &insp.notes {
        eprintln!("mywire keylog: note: {n}");
    }
    if insp.refused() {
        eprintln!("mywire keylog: {}", insp.summary());
        if !a.force {
            eprintln!("mywire keylog: not run (--force runs it anyway; nothing would be logged)");
            return Ok(2);
        }
        eprintln!("mywire keylog: --force: running it anyway");
    } else {
        eprintln!("mywire keylog: {}; keys go to {}", insp.summary(), out.display());
    }
    let before = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let ld = ld_preload_value(std::env::var_os("LD_PRELOAD").as_deref(), &preload).map_err(anyhow::Error::msg)?;
    let mut cmd = std::process::Command::new(&exe);
    cmd.arg0(prog).args(rest).env("LD_PRELOAD", ld).env(ENV_KEYLOG, &out);
    let status = match run_forwarding(&mut cmd) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mywire keylog: cannot run {}: {e}", exe.display());
            return Ok(126);
        }
    };
    let (lines, tls13, tls12) = count_keys(&out, before);
    if lines > 0 {
        eprintln!("mywire keylog: {lines} key-log lines ({tls13} TLS 1.3 and {tls12} TLS 1.2 sessions) appended to {}", out.display());
    } else {
        eprintln!(
            "mywire keylog: no key was written to {}: {} made no TLS connection through OpenSSL's libssl",
            out.display(),
            prog.to_string_lossy()
        );
    }
    if out.exists() {
        eprintln!(
            "mywire keylog: that file decrypts the traffic: keep it as private as the traffic and delete it after the \
             postmortem (shred -u {})",
            out.display()
        );
    }
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c & 0xff).unwrap_or(1),
        (None, Some(s)) => u8::try_from(128 + (s & 0x7f)).unwrap_or(255),
        _ => 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sonames() {
        assert_eq!(TlsLib::of_soname("libssl.so.3"), Some(TlsLib::OpenSsl));
        assert_eq!(TlsLib::of_soname("libssl.so.1.1"), Some(TlsLib::OpenSsl));
        assert_eq!(TlsLib::of_soname("/usr/lib/libssl.so"), Some(TlsLib::OpenSsl));
        assert_eq!(TlsLib::of_soname("libssl.so.1.0.2"), Some(TlsLib::OpenSsl10));
        assert_eq!(TlsLib::of_soname("libssl.so.10"), Some(TlsLib::OpenSsl10));
        assert_eq!(TlsLib::of_soname("libssl3.so"), Some(TlsLib::Nss));
        assert_eq!(TlsLib::of_soname("libnss3.so"), Some(TlsLib::Nss));
        assert_eq!(TlsLib::of_soname("libgnutls.so.30"), Some(TlsLib::GnuTls));
        assert_eq!(TlsLib::of_soname("libwolfssl.so.35"), Some(TlsLib::WolfSsl));
        assert_eq!(TlsLib::of_soname("libmbedtls.so.14"), Some(TlsLib::MbedTls));
        assert_eq!(TlsLib::of_soname("libjli.so"), Some(TlsLib::Java));
        assert_eq!(TlsLib::of_soname("libcrypto.so.3"), None);
        assert_eq!(TlsLib::of_soname("libsslx.so"), None);
        assert_eq!(TlsLib::of_soname(""), None);
    }

    #[test]
    fn shebangs() {
        assert_eq!(parse_shebang(b"#!/bin/sh\necho"), Some((PathBuf::from("/bin/sh"), None)));
        assert_eq!(parse_shebang(b"#! /usr/bin/python3 -u \n"), Some((PathBuf::from("/usr/bin/python3"), Some("-u".into()))));
        assert_eq!(
            parse_shebang(b"#!/usr/bin/env -S python3 -X dev\r\n"),
            Some((PathBuf::from("/usr/bin/env"), Some("-S python3 -X dev".into())))
        );
        assert_eq!(parse_shebang(b"#!"), None);
        assert_eq!(parse_shebang(b"#!   \n/bin/sh"), None);
        assert_eq!(parse_shebang(b"\x7fELF"), None);
        assert_eq!(parse_shebang(b""), None);
        // no newline within the bytes read: the whole head is the line
        assert_eq!(parse_shebang(b"#!/bin/bash"), Some((PathBuf::from("/bin/bash"), None)));
        assert_eq!(env_program("-S python3 -X dev"), Some("python3"));
        assert_eq!(env_program("-i PYTHONPATH=/x python3"), Some("python3"));
        assert_eq!(env_program("-i"), None);
    }

    #[test]
    fn ld_preload_is_appended_once() {
        let ours = Path::new("/opt/m/libmywire_keylog.so");
        assert_eq!(ld_preload_value(None, ours).unwrap(), OsString::from("/opt/m/libmywire_keylog.so"));
        assert_eq!(ld_preload_value(Some(OsStr::new("")), ours).unwrap(), OsString::from("/opt/m/libmywire_keylog.so"));
        assert_eq!(ld_preload_value(Some(OsStr::new("/a.so")), ours).unwrap(), OsString::from("/a.so:/opt/m/libmywire_keylog.so"));
        assert_eq!(
            ld_preload_value(Some(OsStr::new("/a.so /opt/m/libmywire_keylog.so")), ours).unwrap(),
            OsString::from("/a.so /opt/m/libmywire_keylog.so")
        );
        assert!(ld_preload_value(None, Path::new("/my dir/x.so")).is_err());
        assert!(ld_preload_value(None, Path::new("/a:b/x.so")).is_err());
    }

    #[test]
    fn keylog_path_refuses_links_and_defaults_to_the_cwd() {
        let d = tempfile::tempdir().unwrap();
        let link = d.path().join("k.txt");
        std::os::unix::fs::symlink(d.path().join("elsewhere"), &link).unwrap();
        assert!(keylog_path(Some(link)).unwrap_err().contains("symbolic link"));
        assert!(keylog_path(Some(d.path().to_path_buf())).unwrap_err().contains("not a regular file"));
        let file = d.path().join("f");
        std::fs::write(&file, "").unwrap();
        std::fs::hard_link(&file, d.path().join("f2")).unwrap();
        assert!(keylog_path(Some(file)).unwrap_err().contains("has 2 hard links"));
        let p = keylog_path(Some(d.path().join("new.txt"))).unwrap();
        assert!(p.is_absolute() && p.ends_with("new.txt"));
        let def = keylog_path(None).unwrap();
        assert!(def.is_absolute());
        assert_eq!(def.file_name().unwrap().to_string_lossy(), format!("mywire-keylog-{}.txt", std::process::id()));
    }

    #[test]
    fn counts_sessions_and_skips_overlong_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.txt");
        let long = "x".repeat(MAX_LINE * 2);
        let text = format!(
            "CLIENT_RANDOM aa bb\nold\nCLIENT_HANDSHAKE_TRAFFIC_SECRET a b\nCLIENT_TRAFFIC_SECRET_0 a b\n{long}\nCLIENT_RANDOM cc dd\n"
        );
        std::fs::write(&p, &text).unwrap();
        assert_eq!(count_keys(&p, 0), (5, 1, 2));
        let from = "CLIENT_RANDOM aa bb\nold\n".len() as u64;
        assert_eq!(count_keys(&p, from), (3, 1, 1));
        assert_eq!(count_keys(&d.path().join("none"), 0), (0, 0, 0));
    }

    /// Real files of this machine: the shell interpreter and the loader's search.
    #[test]
    fn inspects_this_machines_programs() {
        let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
        let Some(sh) = resolve_command(OsStr::new("sh"), &path) else {
            println!("skipped: no sh in PATH");
            return;
        };
        let i = inspect(&sh, &path);
        assert!(!i.refused(), "{i:?}");
        assert!(i.arch.is_some());
        if let Some(openssl) = resolve_command(OsStr::new("openssl"), &path) {
            let i = inspect(&openssl, &path);
            assert!(matches!(&i.verdict, Verdict::Hookable { lib, .. } if lib.starts_with("libssl.so")), "{i:?}");
        }
        let d = tempfile::tempdir().unwrap();
        let text = d.path().join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        let i = inspect(&text, &path);
        assert!(matches!(&i.verdict, Verdict::Refused { why, .. } if why.contains("neither an ELF")), "{i:?}");
        let script = d.path().join("s");
        std::fs::write(&script, "#!/usr/bin/env sh\necho\n").unwrap();
        let i = inspect(&script, &path);
        assert_eq!(i.chain.len(), 2, "{i:?}");
        assert!(!i.refused());
        std::fs::write(&script, "#!/nonexistent/interp -x\n").unwrap();
        let i = inspect(&script, &path);
        assert!(matches!(&i.verdict, Verdict::Refused { why, .. } if why.contains("`/nonexistent/interp -x` was not found")));
        // a script that runs itself: the depth cap ends it
        std::fs::write(&script, format!("#!{}\n", script.display())).unwrap();
        let i = inspect(&script, &path);
        assert!(matches!(&i.verdict, Verdict::Refused { why, .. } if why.contains("interpreters in a row")), "{i:?}");
        // a truncated ELF: refused, no panic
        let elf = std::fs::read(&sh).unwrap();
        for n in [4, 16, 52, 64, 200, elf.len() / 3] {
            let cut = d.path().join(format!("cut{n}"));
            std::fs::write(&cut, &elf[..n.min(elf.len())]).unwrap();
            let _ = inspect(&cut, &path);
        }
    }
}
