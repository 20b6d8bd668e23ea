//! `mywire-keylog`: an `LD_PRELOAD` library that makes OpenSSL 1.1.1 and 3.x
//! write the NSS key log (`CLIENT_RANDOM ...`, `CLIENT_TRAFFIC_SECRET_0 ...`)
//! of every TLS connection a program makes or accepts, without changing the
//! program. `mywire keylog -- COMMAND` sets it up; a service sets
//! `LD_PRELOAD=.../libmywire_keylog.so MYWIRE_KEYLOG=/path/keys.txt` itself.
//!
//! How: the library defines `SSL_CTX_new` and `SSL_new`, so the loader binds
//! the program's calls (and its libraries' calls) to them. Each calls the real
//! OpenSSL function, found at run time with `dlsym(RTLD_NEXT)` (or, when the
//! program loaded libssl privately, as Python's `ssl` module does, through a
//! `dlopen(RTLD_NOLOAD)` handle on the copy already loaded), and sets a key-log
//! callback on the context with `SSL_CTX_set_keylog_callback`, also resolved at
//! run time: there is no link-time OpenSSL dependency, so one `.so` serves
//! both OpenSSL versions.
//!
//! Contract:
//! - A program that never calls `SSL_CTX_new`/`SSL_new` is not affected: the
//!   file is opened on the first call, never before.
//! - A callback the program set itself is kept: ours writes the line, then
//!   calls it (at most [`MAX_CHAINED`] such contexts; past that the program's
//!   callback stays alone, counted and reported once on stderr).
//! - The file (`MYWIRE_KEYLOG`) is opened once, `O_WRONLY|O_APPEND|O_CREAT|
//!   O_NOFOLLOW|O_CLOEXEC`, mode 0600. A symbolic link, a file that is not
//!   regular, one with more than one hard link, or one not owned by the
//!   effective uid is refused (one line on stderr, nothing written). An
//!   existing file with group/other bits is narrowed to 0600.
//! - Each line goes out in one `write(2)` on the `O_APPEND` descriptor, so
//!   threads' (and forked workers') lines never interleave. Before each, one
//!   `fstat` checks the descriptor is still that file: a program that closed
//!   it (daemons close every descriptor after fork) never gets key lines
//!   written into whatever file reused the number.
//! - A libssl without `SSL_CTX_set_keylog_callback` (OpenSSL < 1.1.1) is
//!   left alone: calls pass through, one line on stderr says why.
//! - Nothing here panics (a panic would abort the host program).
//!
//! The `unsafe` is the FFI itself: `dlsym`/`dlopen`, turning their addresses
//! into function pointers, calling OpenSSL through them, and reading the C
//! string OpenSSL hands the callback. Every block says why it holds.

use std::collections::HashMap;
use std::ffi::{CStr, OsString, c_char, c_void};
use std::fs::{File, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, OnceLock};

/// Environment variable naming the key log file.
pub const ENV_KEYLOG: &str = "MYWIRE_KEYLOG";
/// libssl sonames tried (with `RTLD_NOLOAD`: only a copy already loaded) when
/// `RTLD_NEXT` does not see libssl, i.e. it was loaded with `RTLD_LOCAL`.
/// OpenSSL 1.1.1 and 3.x: the versions that have the key-log callback.
const SONAMES: [&CStr; 2] = [c"libssl.so.3", c"libssl.so.1.1"];
/// Contexts whose own key-log callback is chained behind ours. Past it the
/// program's callback is left in place (ours is not installed there).
pub const MAX_CHAINED: usize = 4096;
/// Lines shorter than this are assembled on the stack (TLS 1.3 lines are at
/// most ~230 bytes); longer ones go through the heap.
const LINE_BUF: usize = 512;

/// Counters: what the library did in this process (for a debugger or a core
/// file; the stderr messages say the same once).
#[derive(Debug)]
pub struct Stats {
    /// Key-log lines written whole.
    pub lines: AtomicU64,
    /// Lines lost (write error, short write, descriptor closed by the program).
    pub lost: AtomicU64,
    /// Contexts that got our callback.
    pub hooked: AtomicU64,
    /// Contexts whose program callback is chained behind ours.
    pub chained: AtomicU64,
    /// Contexts left alone because the chain table was full.
    pub chain_full: AtomicU64,
}

/// This process's counters.
pub static STATS: Stats = Stats {
    lines: AtomicU64::new(0),
    lost: AtomicU64::new(0),
    hooked: AtomicU64::new(0),
    chained: AtomicU64::new(0),
    chain_full: AtomicU64::new(0),
};

// One flag per message: each is printed at most once per process.
static SAID_NO_REAL: AtomicBool = AtomicBool::new(false);
static SAID_NO_CALLBACK: AtomicBool = AtomicBool::new(false);
static SAID_FILE: AtomicBool = AtomicBool::new(false);
static SAID_WRITE: AtomicBool = AtomicBool::new(false);
static SAID_FULL: AtomicBool = AtomicBool::new(false);
static SAID_CLOSED: AtomicBool = AtomicBool::new(false);

/// `SSL_CTX *SSL_CTX_new(const SSL_METHOD *)`
type CtxNewFn = unsafe extern "C" fn(*const c_void) -> *mut c_void;
/// `SSL *SSL_new(SSL_CTX *)`
type SslNewFn = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
/// `void (*)(const SSL *, const char *line)`
type KeylogCb = unsafe extern "C" fn(*const c_void, *const c_char);
/// `void SSL_CTX_set_keylog_callback(SSL_CTX *, SSL_CTX_keylog_cb_func)`
type SetCbFn = unsafe extern "C" fn(*mut c_void, Option<KeylogCb>);
/// `SSL_CTX_keylog_cb_func SSL_CTX_get_keylog_callback(const SSL_CTX *)`
type GetCbFn = unsafe extern "C" fn(*const c_void) -> Option<KeylogCb>;
/// `SSL_CTX *SSL_get_SSL_CTX(const SSL *)`
type GetCtxFn = unsafe extern "C" fn(*const c_void) -> *mut c_void;

/// The real OpenSSL functions, resolved on first use.
struct Real {
    ctx_new: Option<CtxNewFn>,
    ssl_new: Option<SslNewFn>,
    set_cb: Option<SetCbFn>,
    get_cb: Option<GetCbFn>,
    get_ctx: Option<GetCtxFn>,
}

/// Where the real functions are: `RTLD_NEXT` or a handle on a loaded libssl
/// (kept open, so the library cannot be unloaded under our pointers).
fn ssl_scope() -> *mut c_void {
    // SAFETY: dlsym with a pseudo-handle and a NUL-terminated name; it only reads.
    if !unsafe { libc::dlsym(libc::RTLD_NEXT, c"SSL_CTX_new".as_ptr()) }.is_null() {
        return libc::RTLD_NEXT;
    }
    for so in SONAMES {
        // SAFETY: RTLD_NOLOAD never loads anything: it returns a handle on a
        // library already in the process, or NULL.
        let h = unsafe { libc::dlopen(so.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD) };
        if !h.is_null() {
            return h;
        }
    }
    std::ptr::null_mut()
}

/// Looks `$name` up in `$scope` as a function of type `$ty`.
macro_rules! sym {
    ($scope:expr, $name:expr, $ty:ty) => {{
        let p = if $scope.is_null() {
            std::ptr::null_mut()
        } else {
            // SAFETY: dlsym only reads; the name is NUL-terminated.
            unsafe { libc::dlsym($scope, $name.as_ptr()) }
        };
        if p.is_null() {
            None
        } else {
            // SAFETY: `p` is the address of the OpenSSL function named `$name`,
            // whose C signature `$ty` spells out (see the type aliases).
            Some(unsafe { std::mem::transmute::<*mut c_void, $ty>(p) })
        }
    }};
}

fn real() -> &'static Real {
    static REAL: OnceLock<Real> = OnceLock::new();
    REAL.get_or_init(|| {
        let s = ssl_scope();
        Real {
            ctx_new: sym!(s, c"SSL_CTX_new", CtxNewFn),
            ssl_new: sym!(s, c"SSL_new", SslNewFn),
            set_cb: sym!(s, c"SSL_CTX_set_keylog_callback", SetCbFn),
            get_cb: sym!(s, c"SSL_CTX_get_keylog_callback", GetCbFn),
            get_ctx: sym!(s, c"SSL_get_SSL_CTX", GetCtxFn),
        }
    })
}

/// Prints `msg` on stderr once per `flag` (one write; errors ignored: stderr
/// may be closed in a daemon).
fn say_once(flag: &AtomicBool, msg: &str) {
    if flag.swap(true, Ordering::Relaxed) {
        return;
    }
    let line = format!("mywire-keylog: {msg}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Hooked `SSL_CTX_new`: OpenSSL's, then our key-log callback on the new context.
///
/// # Safety
/// OpenSSL's contract for `SSL_CTX_new`; only C code calls this.
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub unsafe extern "C" fn SSL_CTX_new(method: *const c_void) -> *mut c_void {
    let r = real();
    let Some(f) = r.ctx_new else {
        say_once(&SAID_NO_REAL, "SSL_CTX_new was called but no loaded libssl defines it; returning NULL");
        return std::ptr::null_mut();
    };
    // SAFETY: OpenSSL's own SSL_CTX_new, called with the caller's argument.
    let ctx = unsafe { f(method) };
    if !ctx.is_null() {
        // SAFETY: `ctx` is the live context OpenSSL just returned.
        unsafe { hook(r, ctx) };
    }
    ctx
}

/// Hooked `SSL_new`: our callback on the context (again, in case the program
/// created it another way, e.g. `SSL_CTX_new_ex`, or set its own callback
/// since), then OpenSSL's `SSL_new`.
///
/// # Safety
/// OpenSSL's contract for `SSL_new`; only C code calls this.
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub unsafe extern "C" fn SSL_new(ctx: *mut c_void) -> *mut c_void {
    let r = real();
    let Some(f) = r.ssl_new else {
        say_once(&SAID_NO_REAL, "SSL_new was called but no loaded libssl defines it; returning NULL");
        return std::ptr::null_mut();
    };
    if !ctx.is_null() {
        // SAFETY: the caller hands OpenSSL a live context.
        unsafe { hook(r, ctx) };
    }
    // SAFETY: OpenSSL's own SSL_new, called with the caller's argument.
    unsafe { f(ctx) }
}

/// Marker `mywire keylog` checks to know a `.so` is this library: the crate
/// version, NUL-terminated, static.
#[unsafe(no_mangle)]
pub extern "C" fn mywire_keylog_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

fn chains() -> &'static Mutex<HashMap<usize, KeylogCb>> {
    static CHAINS: LazyLock<Mutex<HashMap<usize, KeylogCb>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    &CHAINS
}

/// Puts our callback on `ctx`, keeping a callback the program set.
///
/// # Safety
/// `ctx` is a live `SSL_CTX`.
unsafe fn hook(r: &Real, ctx: *mut c_void) {
    let (Some(get), Some(set)) = (r.get_cb, r.set_cb) else {
        say_once(&SAID_NO_CALLBACK, "this libssl has no SSL_CTX_set_keylog_callback (OpenSSL older than 1.1.1?): no key log is written");
        return;
    };
    if keylog_file().is_none() {
        return; // nowhere to write: leave the program exactly as it is
    }
    let ours: KeylogCb = on_keylog;
    // SAFETY: `ctx` is live (caller's contract); the getter only reads it.
    let current = unsafe { get(ctx) };
    if current.is_some_and(|cb| cb as usize == ours as usize) {
        return; // already ours (every SSL_new after the first on a context)
    }
    let key = ctx as usize;
    let mut table = chains().lock().unwrap_or_else(|e| e.into_inner());
    match current {
        // A new context, or one at the address of a freed one: no chain.
        None => {
            table.remove(&key);
        }
        Some(theirs) => {
            if table.len() >= MAX_CHAINED && !table.contains_key(&key) {
                STATS.chain_full.fetch_add(1, Ordering::Relaxed);
                drop(table);
                say_once(&SAID_FULL, "too many contexts with their own key-log callback: later ones are not logged");
                return;
            }
            table.insert(key, theirs);
            STATS.chained.fetch_add(1, Ordering::Relaxed);
        }
    }
    drop(table);
    // SAFETY: `ctx` is live; `ours` has the callback's C signature and lives
    // as long as the process (this library is never unloaded: LD_PRELOAD).
    unsafe { set(ctx, Some(ours)) };
    STATS.hooked.fetch_add(1, Ordering::Relaxed);
}

/// The key-log callback: write the line, then call the program's own callback.
unsafe extern "C" fn on_keylog(ssl: *const c_void, line: *const c_char) {
    if !line.is_null() {
        // SAFETY: OpenSSL passes a NUL-terminated line, valid during the call.
        let text = unsafe { CStr::from_ptr(line) }.to_bytes();
        if let Some(f) = keylog_file() {
            if !same_file(f) {
                // The program closed our descriptor (daemons close every fd
                // after fork) and the number may now be another file's.
                STATS.lost.fetch_add(1, Ordering::Relaxed);
                say_once(&SAID_CLOSED, "the key log's descriptor was closed by the program: no more lines are written");
            } else if let Err(e) = write_line(&f.file, text) {
                STATS.lost.fetch_add(1, Ordering::Relaxed);
                say_once(&SAID_WRITE, &format!("a key-log line was lost: {e}"));
            } else {
                STATS.lines.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    if STATS.chained.load(Ordering::Relaxed) == 0 || ssl.is_null() {
        return;
    }
    let Some(get_ctx) = real().get_ctx else { return };
    // SAFETY: OpenSSL passes the live SSL whose handshake logged the line.
    let ctx = unsafe { get_ctx(ssl) } as usize;
    let theirs = chains().lock().unwrap_or_else(|e| e.into_inner()).get(&ctx).copied();
    if let Some(f) = theirs {
        // SAFETY: the program's own callback, with the arguments OpenSSL gave us.
        unsafe { f(ssl, line) };
    }
}

/// The key log, with the identity it had when opened.
struct KeyFile {
    file: File,
    dev: u64,
    ino: u64,
}

/// True while the descriptor still refers to the file opened (one fstat).
fn same_file(k: &KeyFile) -> bool {
    k.file.metadata().is_ok_and(|m| m.dev() == k.dev && m.ino() == k.ino)
}

/// The key log file, opened on first use (`None`: unset or refused).
fn keylog_file() -> Option<&'static KeyFile> {
    static FILE: OnceLock<Option<KeyFile>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path: OsString = std::env::var_os(ENV_KEYLOG).unwrap_or_default();
        if path.is_empty() {
            say_once(&SAID_FILE, "MYWIRE_KEYLOG is not set: no key log is written");
            return None;
        }
        match open_keylog(Path::new(&path)).and_then(|file| {
            let m = file.metadata().map_err(|e| format!("cannot stat {}: {e}", Path::new(&path).display()))?;
            Ok(KeyFile { file, dev: m.dev(), ino: m.ino() })
        }) {
            Ok(k) => Some(k),
            Err(why) => {
                say_once(&SAID_FILE, &format!("no key log is written: {why}"));
                None
            }
        }
    })
    .as_ref()
}

/// Opens (or creates, 0600) the key log for appending, refusing links, files
/// that are not regular and files another user owns.
pub fn open_keylog(path: &Path) -> Result<File, String> {
    let shown = path.display();
    // O_NONBLOCK only so that opening a FIFO cannot hang the program; it has no
    // effect on the regular file we go on to accept. std adds O_CLOEXEC.
    let f = OpenOptions::new().append(true).create(true).mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path).map_err(
        |e| match e.raw_os_error() {
            Some(libc::ELOOP) => format!("{shown} is a symbolic link: refused (the key log is never written through a link)"),
            _ => format!("cannot open {shown}: {e}"),
        },
    )?;
    let md = f.metadata().map_err(|e| format!("cannot stat {shown}: {e}"))?;
    if !md.file_type().is_file() {
        return Err(format!("{shown} is not a regular file: refused"));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if md.uid() != euid {
        return Err(format!("{shown} belongs to uid {}, not to this process's euid {euid}: refused", md.uid()));
    }
    if md.nlink() != 1 {
        // a hard link planted to some other file of this user (say, root's
        // /etc/shadow) must not get key lines appended, or its mode changed
        return Err(format!("{shown} has {} hard links: refused", md.nlink()));
    }
    if md.mode() & 0o077 != 0 {
        f.set_permissions(Permissions::from_mode(0o600)).map_err(|e| format!("cannot chmod 0600 {shown}: {e}"))?;
    }
    Ok(f)
}

/// Writes `line` and a newline with one `write(2)` (atomic with `O_APPEND`).
pub fn write_line(mut f: &File, line: &[u8]) -> std::io::Result<()> {
    let n = line.len();
    let mut stack = [0u8; LINE_BUF];
    let heap: Vec<u8>;
    let buf: &[u8] = match stack.get_mut(..n + 1) {
        Some(dst) if n < LINE_BUF => {
            let (text, nl) = dst.split_at_mut(n);
            text.copy_from_slice(line);
            nl.fill(b'\n');
            dst
        }
        _ => {
            heap = [line, b"\n"].concat();
            &heap
        }
    };
    loop {
        match f.write(buf) {
            Ok(w) if w == buf.len() => return Ok(()),
            Ok(w) => return Err(std::io::Error::other(format!("short write ({w} of {} bytes; disk full?)", buf.len()))),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let d = std::env::temp_dir().join(format!("mywire-keylog-unit-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir(&d).unwrap();
            TempDir(d)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read(p: &Path) -> String {
        let mut s = String::new();
        File::open(p).unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn creates_0600_and_appends() {
        let d = TempDir::new("create");
        let p = d.0.join("keys.txt");
        let f = open_keylog(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        write_line(&f, b"CLIENT_RANDOM aa bb").unwrap();
        drop(f);
        let f = open_keylog(&p).unwrap();
        write_line(&f, b"CLIENT_RANDOM cc dd").unwrap();
        assert_eq!(read(&p), "CLIENT_RANDOM aa bb\nCLIENT_RANDOM cc dd\n");
    }

    #[test]
    fn narrows_an_existing_wide_file() {
        let d = TempDir::new("narrow");
        let p = d.0.join("keys.txt");
        std::fs::write(&p, "old\n").unwrap();
        std::fs::set_permissions(&p, Permissions::from_mode(0o644)).unwrap();
        let f = open_keylog(&p).unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o777, 0o600);
        write_line(&f, b"x").unwrap();
        assert_eq!(read(&p), "old\nx\n");
    }

    #[test]
    fn refuses_symlinks_and_does_not_touch_the_target() {
        let d = TempDir::new("link");
        let target = d.0.join("target");
        std::fs::write(&target, "precious\n").unwrap();
        let link = d.0.join("keys.txt");
        symlink(&target, &link).unwrap();
        let err = open_keylog(&link).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(read(&target), "precious\n");
        // a dangling link: nothing is created at its target either
        let dangling = d.0.join("dangling");
        symlink(d.0.join("nothing-here"), &dangling).unwrap();
        assert!(open_keylog(&dangling).unwrap_err().contains("symbolic link"));
        assert!(!d.0.join("nothing-here").exists());
    }

    #[test]
    fn refuses_hard_links() {
        let d = TempDir::new("hardlink");
        let target = d.0.join("shadow");
        std::fs::write(&target, "root:x:\n").unwrap();
        std::fs::set_permissions(&target, Permissions::from_mode(0o640)).unwrap();
        let link = d.0.join("keys.txt");
        std::fs::hard_link(&target, &link).unwrap();
        let err = open_keylog(&link).unwrap_err();
        assert!(err.contains("has 2 hard links: refused"), "{err}");
        assert_eq!(read(&target), "root:x:\n");
        assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o777, 0o640, "mode left alone");
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let d = TempDir::new("fifo");
        let err = open_keylog(&d.0).unwrap_err();
        assert!(err.contains("cannot open"), "{err}"); // a directory: EISDIR
        let fifo = d.0.join("fifo");
        let st = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(st.success());
        // no reader: must fail at once (ENXIO), never block
        let err = open_keylog(&fifo).unwrap_err();
        assert!(err.contains("cannot open") || err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn refuses_a_file_owned_by_someone_else() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("skipped: needs root to give a file to another user");
            return;
        }
        let d = TempDir::new("owner");
        let p = d.0.join("keys.txt");
        std::fs::write(&p, "").unwrap();
        std::os::unix::fs::chown(&p, Some(65534), None).unwrap();
        let err = open_keylog(&p).unwrap_err();
        assert!(err.contains("belongs to uid 65534"), "{err}");
    }

    #[test]
    fn threads_lines_never_interleave() {
        let d = TempDir::new("threads");
        let p = d.0.join("keys.txt");
        const THREADS: usize = 8;
        const LINES: usize = 2000;
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let p = &p;
                s.spawn(move || {
                    // each thread opens its own descriptor, like forked workers do
                    let f = open_keylog(p).unwrap();
                    for i in 0..LINES {
                        let secret = format!("{t:02x}{i:04x}").repeat(16);
                        write_line(&f, format!("CLIENT_TRAFFIC_SECRET_0 {} {secret}", "ab".repeat(32)).as_bytes()).unwrap();
                    }
                });
            }
        });
        let text = read(&p);
        assert_eq!(text.lines().count(), THREADS * LINES);
        for l in text.lines() {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 3, "{l}");
            assert_eq!(f[0], "CLIENT_TRAFFIC_SECRET_0");
            assert_eq!(f[2].len(), 96, "{l}");
            assert_eq!(f[2], f[2][..6].repeat(16), "{l}");
        }
    }

    #[test]
    fn long_lines_go_out_whole() {
        let d = TempDir::new("long");
        let p = d.0.join("keys.txt");
        let f = open_keylog(&p).unwrap();
        let long = vec![b'a'; 3 * LINE_BUF];
        write_line(&f, &long).unwrap();
        write_line(&f, &[b'b'; LINE_BUF - 1]).unwrap();
        let text = read(&p);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 3 * LINE_BUF);
        assert_eq!(lines[1].len(), LINE_BUF - 1);
    }

    #[test]
    fn version_marker_is_nul_terminated() {
        // SAFETY: the marker is a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(mywire_keylog_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
