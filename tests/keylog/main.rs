//! `mywire keylog` end to end, on real programs: OpenSSL's own client and
//! server, small C programs built here (shared, static, OpenSSL inside), a
//! private MariaDB server with TLS, its `mariadb` CLI and PyMySQL, tcpdump on
//! loopback and tshark decrypting the capture with the key logs.
//!
//! Tools missing (gcc, openssl, mariadbd, tshark, tcpdump, root) skip a test
//! with a printed reason; `MYWIRE_REQUIRE_TOOLS=1` makes that a failure.
//! The preload is built here with the cargo that runs the tests (it lands
//! next to the `mywire` binary, where `mywire keylog` looks for it).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const MYWIRE: &str = env!("CARGO_BIN_EXE_mywire");
const HERE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keylog");
const USER: &str = "app";
const PASSWORD: &str = "app-secret-pw";

/// True when `tools` are all there (and root when asked); otherwise prints
/// why the test is skipped, or fails under MYWIRE_REQUIRE_TOOLS=1.
fn have(test: &str, tools: &[&str], root: bool) -> bool {
    let mut missing: Vec<String> = tools.iter().filter(|t| which(t).is_none()).map(|t| t.to_string()).collect();
    if root && !nix::unistd::geteuid().is_root() {
        missing.push("root (tcpdump on lo, mariadbd --user=root)".into());
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!("{test}: skipped, missing {}", missing.join(", "));
    if std::env::var("MYWIRE_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{msg} (MYWIRE_REQUIRE_TOOLS=1)");
    }
    println!("{msg}");
    false
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':').chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]).map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

/// The preload, built once per test run with the same profile as `mywire`.
fn preload() -> PathBuf {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| {
        let dir = Path::new(MYWIRE).parent().unwrap().to_path_buf();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-q", "-p", "mywire-keylog"]).current_dir(env!("CARGO_MANIFEST_DIR"));
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("running cargo build -p mywire-keylog");
        assert!(st.success(), "cargo build -p mywire-keylog failed");
        let so = dir.join("libmywire_keylog.so");
        assert!(so.is_file(), "{} was not built", so.display());
        so
    })
    .clone()
}

fn mywire() -> Command {
    preload();
    Command::new(MYWIRE)
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Key-log lines by label, with their client randoms.
fn keylog(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

fn randoms(path: &Path, label: &str) -> BTreeSet<String> {
    keylog(path).into_iter().filter(|(l, _)| l == label).map(|(_, r)| r).collect()
}

/// A process killed (and reaped) when dropped.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `openssl s_server` on a free port, ready when it says ACCEPT.
fn tls_server(dir: &Path) -> (Guard, u16) {
    let (cert, key) = self_signed(dir);
    let port = free_port();
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", &port.to_string(), "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::piped()) // kept open: EOF on its stdin would end each connection
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("ACCEPT") {
        line.clear();
    }
    assert!(line.contains("ACCEPT"), "openssl s_server did not start");
    // keep reading its output so it never blocks on a full pipe
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut out, &mut std::io::sink());
    });
    (Guard(child), port)
}

fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !cert.exists() {
        let st = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mywire-test", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl req failed");
    }
    (cert, key)
}

fn gcc(dir: &Path, out: &str, args: &[&str]) -> PathBuf {
    let exe = dir.join(out);
    let o = run(Command::new("gcc").args(args).arg("-o").arg(&exe).current_dir(HERE));
    assert!(o.status.success(), "gcc {args:?}: {}", text(&o.stderr));
    exe
}

/// (a) the safety rules of the key log file, through the real preload in
/// `openssl s_client`: 0600, symlinks refused by mywire and by the preload,
/// the program's own key-log callback kept.
#[test]
fn keylog_file_is_private_and_never_follows_links() {
    if !have("keylog_file_is_private_and_never_follows_links", &["openssl"], false) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (_srv, port) = tls_server(d.path());
    let client = |extra: &[&str]| {
        let mut v = vec!["s_client".to_string(), "-connect".into(), format!("127.0.0.1:{port}"), "-brief".into()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };

    // created 0600, one TLS 1.3 session; the program's own -keylogfile still gets the same lines
    let k = d.path().join("keys.txt");
    let own = d.path().join("own.txt");
    let o = run(mywire().arg("keylog").arg("--out").arg(&k).arg("--").arg("openssl").args(client(&["-keylogfile", own.to_str().unwrap()])));
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("/usr/bin/openssl links libssl.so.3: hookable"), "{err}");
    assert!(err.contains("1 TLS 1.3 and 0 TLS 1.2 sessions"), "{err}");
    assert!(err.contains("delete it after the postmortem"), "{err}");
    let md = std::fs::metadata(&k).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600);
    let ours = std::fs::read_to_string(&k).unwrap();
    assert_eq!(randoms(&k, "CLIENT_TRAFFIC_SECRET_0").len(), 1, "{ours}");
    let theirs: String = std::fs::read_to_string(&own).unwrap().lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    assert_eq!(ours, theirs, "the program's own key log must get the same lines");

    // a second run appends
    let o = run(mywire().arg("keylog").arg("--out").arg(&k).arg("--").arg("openssl").args(client(&[])));
    assert!(o.status.success());
    assert_eq!(randoms(&k, "CLIENT_TRAFFIC_SECRET_0").len(), 2);

    // a symlink planted at --out: mywire refuses before running anything
    let target = d.path().join("precious");
    std::fs::write(&target, "precious\n").unwrap();
    let link = d.path().join("planted.txt");
    symlink(&target, &link).unwrap();
    let o = run(mywire().arg("keylog").arg("--out").arg(&link).arg("--").arg("openssl").args(client(&[])));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is a symbolic link: refused"), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");

    // the same planted link given to the preload directly (as a systemd drop-in
    // would): the program still works, nothing goes through the link
    let o = run(Command::new("openssl").args(client(&[])).env("LD_PRELOAD", preload()).env("MYWIRE_KEYLOG", &link));
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("mywire-keylog: no key log is written:") && err.contains("is a symbolic link: refused"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");

    // the preload without MYWIRE_KEYLOG: says so, changes nothing
    let o = run(Command::new("openssl").args(client(&[])).env("LD_PRELOAD", preload()).env_remove("MYWIRE_KEYLOG"));
    assert!(o.status.success());
    assert!(text(&o.stderr).contains("mywire-keylog: MYWIRE_KEYLOG is not set"), "{}", text(&o.stderr));

    // a file owned by another user: the preload refuses it
    let other = d.path().join("other.txt");
    std::fs::write(&other, "").unwrap();
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(&other, Some(65534), None).unwrap();
        let o = run(Command::new("openssl").args(client(&[])).env("LD_PRELOAD", preload()).env("MYWIRE_KEYLOG", &other));
        assert!(o.status.success());
        assert!(text(&o.stderr).contains("belongs to uid 65534"), "{}", text(&o.stderr));
        assert_eq!(std::fs::metadata(&other).unwrap().len(), 0);
    }

    // MYWIRE_PRELOAD names the library explicitly
    let k2 = d.path().join("k2.txt");
    let o = run(mywire().env("MYWIRE_PRELOAD", preload()).arg("keylog").arg("--out").arg(&k2).arg("--").arg("openssl").args(client(&[])));
    assert!(o.status.success());
    assert_eq!(randoms(&k2, "CLIENT_TRAFFIC_SECRET_0").len(), 1);
    let o = run(mywire().env("MYWIRE_PRELOAD", d.path().join("nope.so")).arg("keylog").arg("--").arg("true"));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("MYWIRE_PRELOAD"), "{}", text(&o.stderr));
}

/// (f) what the preload cannot reach is refused, and rightly: the same TLS
/// client, built three ways, against a real TLS server.
#[test]
fn static_and_embedded_openssl_are_refused() {
    if !have("static_and_embedded_openssl_are_refused", &["gcc", "strip", "openssl"], false) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (_srv, port) = tls_server(d.path());
    let port = port.to_string();
    let shared = gcc(d.path(), "tls_shared", &["tls_client.c", "-lssl", "-lcrypto"]);
    let hello = gcc(d.path(), "hello_static", &["-static", "hello.c"]);
    let static_ssl = gcc(d.path(), "tls_static", &["-static", "tls_client.c", "-lssl", "-lcrypto", "-pthread"]);
    let inside = gcc(d.path(), "tls_inside", &["tls_client.c", "-Wl,-Bstatic", "-lssl", "-lcrypto", "-Wl,-Bdynamic", "-pthread"]);

    // the shared build is hooked: its handshake is in the key log
    let k = d.path().join("shared.txt");
    let o = run(mywire().arg("keylog").arg("--out").arg(&k).arg("--").arg(&shared).arg(&port));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("handshake ok: TLSv1.3"));
    assert_eq!(randoms(&k, "CLIENT_TRAFFIC_SECRET_0").len(), 1);

    let refused = |exe: &Path, expect: &str| {
        let k = d.path().join("refused.txt");
        let o = run(mywire().arg("keylog").arg("--out").arg(&k).arg("--").arg(exe).arg(&port));
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("cannot hook {}: ", exe.display())) && err.contains(expect), "{err}");
        assert!(err.contains("not run (--force runs it anyway"), "{err}");
        assert!(!k.exists(), "nothing ran, nothing was written");
        let o = run(mywire().arg("keylog").arg("--check").arg("--").arg(exe));
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o.stdout).contains(expect), "{}", text(&o.stdout));
        err
    };
    refused(&hello, "it is statically linked: the dynamic loader, and so LD_PRELOAD, never runs for it");
    let err = refused(&static_ssl, "it is statically linked, with OpenSSL inside it");
    println!("{err}");
    // stripped: no symbols left, the strings still tell
    let stripped = d.path().join("tls_stripped");
    let o = run(Command::new("strip").arg("-o").arg(&stripped).arg(&static_ssl));
    assert!(o.status.success(), "strip: {}", text(&o.stderr));
    refused(&stripped, "it is statically linked, with OpenSSL inside it");
    let err = refused(&inside, "it carries its own copy of OpenSSL (it defines SSL_CTX_new)");
    println!("{err}");

    // --force runs them: they work, and (the reason for refusing) log nothing
    for exe in [&static_ssl, &inside] {
        let k = d.path().join("forced.txt");
        let o = run(mywire().arg("keylog").arg("--force").arg("--out").arg(&k).arg("--").arg(exe).arg(&port));
        let err = text(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(text(&o.stdout).contains("handshake ok: TLSv1.3"));
        assert!(err.contains("--force: running it anyway"), "{err}");
        assert!(err.contains("no key was written"), "{err}");
        assert!(keylog(&k).is_empty(), "{} logged keys", exe.display());
    }

    // a program that closes every descriptor after creating its context (as
    // daemons do): the number of the key log's descriptor goes to another
    // file, which must get no key line
    let k = d.path().join("daemon.txt");
    let decoy = d.path().join("decoy.txt");
    let o = run(mywire().arg("keylog").arg("--out").arg(&k).arg("--").arg(&shared).arg(&port).arg("close-fds").arg(&decoy));
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(text(&o.stdout).contains("handshake ok: TLSv1.3"));
    assert!(text(&o.stdout).contains("decoy fd 3"), "the decoy must take the key log's old number: {}", text(&o.stdout));
    assert!(err.contains("mywire-keylog: the key log's descriptor was closed by the program"), "{err}");
    assert_eq!(std::fs::read_to_string(&decoy).unwrap(), "", "key lines went into another file");
    assert!(keylog(&k).is_empty());

    // a script is followed to its interpreter
    let script = d.path().join("run.sh");
    std::fs::write(&script, format!("#!/bin/sh\nexec {} \"$@\"\n", shared.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let k = d.path().join("script.txt");
    let o = run(mywire().arg("keylog").arg("--out").arg(&k).arg("--").arg(&script).arg(&port));
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains(&format!("/bin/sh (interpreter of {}) links no TLS library", script.display())), "{err}");
    assert_eq!(randoms(&k, "CLIENT_TRAFFIC_SECRET_0").len(), 1, "the exec'd program inherits the preload");

    // the child's exit code comes back; an unknown command is 127
    let o = run(mywire().arg("keylog").arg("--out").arg(&k).arg("--").arg("sh").arg("-c").arg("exit 7"));
    assert_eq!(o.status.code(), Some(7));
    let o = run(mywire().arg("keylog").arg("--").arg("no-such-program-mywire"));
    assert_eq!(o.status.code(), Some(127));
}

/// A libssl without SSL_CTX_set_keylog_callback (OpenSSL < 1.1.1): calls pass
/// through, the program works, one line says why.
#[test]
fn a_libssl_without_the_callback_is_left_alone() {
    if !have("a_libssl_without_the_callback_is_left_alone", &["gcc"], false) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    gcc(d.path(), "libssl.so.1.1", &["-shared", "-fPIC", "-Wl,-soname,libssl.so.1.1", "old_libssl.c"]);
    let exe = gcc(d.path(), "old_client", &["old_client.c", &format!("{dir}/libssl.so.1.1"), "-Wl,-rpath,$ORIGIN"]);
    let k = d.path().join("k.txt");
    let o = run(mywire().arg("keylog").arg("--out").arg(&k).arg("--").arg(&exe));
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("links libssl.so.1.1: hookable"), "{err}");
    assert_eq!(text(&o.stdout), "old libssl calls passed through\n");
    assert!(err.contains("mywire-keylog: this libssl has no SSL_CTX_set_keylog_callback"), "{err}");
    assert!(!k.exists(), "no file is created when nothing can be logged");
}

/// A private mariadbd with TLS on a free port; stopped on drop.
struct Mariadb {
    dir: PathBuf,
    port: u16,
    sock: PathBuf,
    /// mariadbd's pid (from its pid file, once up).
    pid: i32,
    /// `mywire keylog ... -- mariadbd ...`
    proc: Option<Child>,
}

impl Mariadb {
    fn start(dir: &Path, server_keys: &Path) -> Mariadb {
        let (cert, key) = self_signed(dir);
        let data = dir.join("data");
        let install = which("mariadb-install-db").or_else(|| which("mysql_install_db")).expect("mariadb-install-db");
        let o = run(Command::new(install).args([
            "--no-defaults",
            &format!("--datadir={}", data.display()),
            "--user=root",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ]));
        assert!(o.status.success(), "mariadb-install-db: {}", text(&o.stderr));
        let port = free_port();
        let sock = dir.join("mysqld.sock");
        let proc = mywire()
            .arg("keylog")
            .arg("--out")
            .arg(server_keys)
            .arg("--")
            .arg("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--user=root")
            .arg(format!("--socket={}", sock.display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg("--skip-name-resolve")
            .arg(format!("--log-error={}", dir.join("err.log").display()))
            .arg(format!("--ssl-cert={}", cert.display()))
            .arg(format!("--ssl-key={}", key.display()))
            .arg("--innodb-buffer-pool-size=32M")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("mywire-server.err")).unwrap())
            .spawn()
            .unwrap();
        let mut m = Mariadb { dir: dir.to_path_buf(), port, sock, pid: 0, proc: Some(proc) };
        let t0 = Instant::now();
        loop {
            if m.sql("SELECT 1").is_ok() {
                break;
            }
            if let Some(st) = m.proc.as_mut().unwrap().try_wait().unwrap() {
                panic!("mywire keylog -- mariadbd exited ({st}): {}", m.logs());
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "mariadbd did not come up: {}", m.logs());
            std::thread::sleep(Duration::from_millis(100));
        }
        m.pid = std::fs::read_to_string(dir.join("mysqld.pid")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        m.sql(&format!("CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}' REQUIRE SSL; GRANT ALL ON *.* TO '{USER}'@'%';")).unwrap();
        m
    }

    fn logs(&self) -> String {
        let r = |n: &str| std::fs::read_to_string(self.dir.join(n)).unwrap_or_default();
        format!("mywire: {}\nerr.log: {}", r("mywire-server.err"), r("err.log"))
    }

    /// Admin SQL over the unix socket, not captured, and without TLS (Debian's
    /// 10.11 client uses TLS by default even there): the server's key log then
    /// holds the test's client connections only.
    fn sql(&self, q: &str) -> Result<String, String> {
        let o = run(Command::new("mariadb")
            .args(["--no-defaults", "--skip-ssl", "-uroot", "-N", "-B"])
            .arg(format!("--socket={}", self.sock.display()))
            .args(["-e", q]));
        if o.status.success() { Ok(text(&o.stdout)) } else { Err(text(&o.stderr)) }
    }

    /// Stops the server through mywire (SIGTERM, forwarded); returns mywire's exit code and stderr.
    fn stop(&mut self) -> (Option<i32>, String) {
        let mut p = self.proc.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(p.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let t0 = Instant::now();
        let st = loop {
            if let Some(st) = p.try_wait().unwrap() {
                break st;
            }
            if t0.elapsed() > Duration::from_secs(60) {
                let _ = p.kill();
                break p.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        (st.code(), std::fs::read_to_string(self.dir.join("mywire-server.err")).unwrap_or_default())
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            // mywire forwards SIGTERM to mariadbd; the pid file covers a mywire that is gone
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.id() as i32), nix::sys::signal::Signal::SIGTERM);
            let t0 = Instant::now();
            while p.try_wait().ok().flatten().is_none() && t0.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = p.kill();
            let _ = p.wait();
        }
        if self.pid > 0 && nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid), None).is_ok() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// tcpdump on lo for one port, stopped (SIGINT) and reaped by `stop`.
struct Tcpdump(Option<(Child, std::thread::JoinHandle<String>, PathBuf)>);

impl Tcpdump {
    fn start(file: &Path, port: u16) -> Tcpdump {
        let mut c = Command::new("tcpdump")
            .args(["-i", "lo", "--immediate-mode", "-U", "-s", "0", "-Z", "root", "-w"])
            .arg(file)
            .arg(format!("tcp port {port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(c.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        assert!(line.contains("listening"), "tcpdump: {line}");
        let rest = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        std::thread::sleep(Duration::from_millis(200));
        Tcpdump(Some((c, rest, file.to_path_buf())))
    }

    /// Stops the capture; returns what tcpdump said at the end (its counts).
    fn stop(&mut self) -> String {
        let Some((mut c, rest, file)) = self.0.take() else { return String::new() };
        // tcpdump writes each packet as it takes it (-U); on a busy machine it
        // can lag, and SIGINT drops what it has not taken yet: wait until the
        // file stops growing (at least 500 ms, at most 10 s)
        let t0 = Instant::now();
        let mut size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let now = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            if (now == size && t0.elapsed() >= Duration::from_millis(500)) || t0.elapsed() > Duration::from_secs(10) {
                break;
            }
            size = now;
        }
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::Signal::SIGINT);
        let _ = c.wait();
        rest.join().unwrap_or_default()
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `(tcp.stream, query)` for every MySQL query tshark can read, decrypting with `keys` if given.
fn tshark_queries(cap: &Path, port: u16, keys: Option<&Path>) -> Vec<(u32, String)> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(cap).args([
        "-d",
        &format!("tcp.port=={port},mysql"),
        "-Y",
        "mysql.query",
        "-T",
        "fields",
        "-e",
        "tcp.stream",
        "-e",
        "mysql.query",
    ]);
    if let Some(k) = keys {
        cmd.arg("-o").arg(format!("tls.keylog_file:{}", k.display()));
    }
    let o = run(&mut cmd);
    assert!(o.status.success(), "tshark: {}", text(&o.stderr));
    text(&o.stdout)
        .lines()
        .filter_map(|l| {
            let (s, q) = l.split_once('\t')?;
            Some((s.parse().ok()?, q.to_string()))
        })
        .collect()
}

fn streams_with(q: &[(u32, String)], needle: &str) -> BTreeSet<u32> {
    q.iter().filter(|(_, s)| s.contains(needle)).map(|(s, _)| *s).collect()
}

/// (a)-(e): the server and its clients under `mywire keylog`; tshark decrypts
/// a loopback capture with the key logs, the server's alone covering every client.
#[test]
fn mariadb_server_and_clients_key_logs_decrypt_the_capture() {
    let tools = ["mariadbd", "mariadb", "mariadb-install-db", "openssl", "tshark", "tcpdump", "python3"];
    if !have("mariadb_server_and_clients_key_logs_decrypt_the_capture", &tools, true) {
        return;
    }
    if !Command::new("python3").args(["-c", "import pymysql"]).status().is_ok_and(|s| s.success()) {
        assert_ne!(std::env::var("MYWIRE_REQUIRE_TOOLS").as_deref(), Ok("1"), "python3 has no pymysql (MYWIRE_REQUIRE_TOOLS=1)");
        println!("mariadb_server_and_clients_key_logs_decrypt_the_capture: skipped, python3 has no pymysql");
        return;
    }
    let mut d = tempfile::Builder::new().prefix("mywire-keylog-test-").tempdir().unwrap();
    // Kept when the test fails (or with MYWIRE_KEYLOG_TEST_KEEP=1): the
    // capture, the key logs and the server's logs, for a look.
    let keep = std::env::var("MYWIRE_KEYLOG_TEST_KEEP").as_deref() == Ok("1");
    d.disable_cleanup(true);
    println!("test files in {} (removed when the test passes)", d.path().display());
    let dir = d.path().to_path_buf();
    let dir = dir.as_path();
    // which TLS library Debian's programs really use
    for p in ["mariadb", "mariadbd"] {
        let o = run(mywire().args(["keylog", "--check", "--", p]));
        println!("{}", text(&o.stdout).trim());
        assert!(o.status.success(), "{p} is not hookable here: {}", text(&o.stdout));
    }
    let server_keys = dir.join("server-keys.txt");
    let mut db = Mariadb::start(dir, &server_keys);
    let cap = dir.join("tls.pcap");
    let mut dump = Tcpdump::start(&cap, db.port);
    let port = db.port.to_string();

    // (b) the mariadb CLI, TLS 1.3 and TLS 1.2, each under its own key log
    let cli = |keys: &Path, tag: &str, tls: &str| {
        let o = run(mywire().arg("keylog").arg("--out").arg(keys).arg("--").args([
            "mariadb",
            "--no-defaults",
            "-h127.0.0.1",
            &format!("-P{port}"),
            &format!("-u{USER}"),
            &format!("-p{PASSWORD}"),
            "--ssl",
            &format!("--tls-version={tls}"),
            "-N",
            "-B",
            "-e",
            &format!("SELECT '{tag}'; SHOW SESSION STATUS LIKE 'Ssl_version'"),
        ]));
        assert!(o.status.success(), "mariadb CLI: {}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(out.contains(tag) && out.contains(&format!("Ssl_version\t{tls}")), "{out}");
        text(&o.stderr)
    };
    let cli13 = dir.join("cli13.txt");
    let err = cli(&cli13, "mywire-cli-13", "TLSv1.3");
    assert!(err.contains("/usr/bin/mariadb links libssl.so.3: hookable"), "{err}");
    assert!(err.contains("(1 TLS 1.3 and 0 TLS 1.2 sessions)"), "{err}");
    let cli12 = dir.join("cli12.txt");
    let err = cli(&cli12, "mywire-cli-12", "TLSv1.2");
    assert!(err.contains("(0 TLS 1.3 and 1 TLS 1.2 sessions)"), "{err}");
    assert_eq!(randoms(&cli13, "CLIENT_TRAFFIC_SECRET_0").len(), 1);
    assert_eq!(randoms(&cli12, "CLIENT_RANDOM").len(), 1);

    // (c) python3 + PyMySQL: libssl arrives with the ssl module (dlopen, RTLD_LOCAL)
    let py = dir.join("py.txt");
    let script = format!(
        "import ssl, pymysql\n\
         ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
         c = pymysql.connect(host='127.0.0.1', port={port}, user='{USER}', password='{PASSWORD}', ssl=ctx)\n\
         cur = c.cursor(); cur.execute(\"SELECT 'mywire-py'\"); print(cur.fetchone()[0], c._sock.version()); c.close()\n"
    );
    let o = run(mywire().arg("keylog").arg("--out").arg(&py).arg("--").args(["python3", "-c", &script]));
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert_eq!(text(&o.stdout).trim(), "mywire-py TLSv1.3");
    assert!(err.contains("links no TLS library"), "{err}");
    assert_eq!(randoms(&py, "CLIENT_TRAFFIC_SECRET_0").len(), 1, "{err}");

    // PHP (optional: php-cli php-mysql): mysqli with TLS, libssl linked by php itself
    let php = dir.join("php.txt");
    let have_php = which("php").is_some()
        && Command::new("php").args(["-r", "exit(function_exists('mysqli_init') ? 0 : 1);"]).status().is_ok_and(|s| s.success());
    if have_php {
        let code = format!(
            "$m = mysqli_init(); $m->ssl_set(NULL, NULL, NULL, NULL, NULL);\n\
             $m->real_connect('127.0.0.1', '{USER}', '{PASSWORD}', NULL, {port}, NULL, MYSQLI_CLIENT_SSL | MYSQLI_CLIENT_SSL_DONT_VERIFY_SERVER_CERT);\n\
             echo $m->query(\"SELECT 'mywire-php'\")->fetch_row()[0], ' ', $m->query(\"SHOW SESSION STATUS LIKE 'Ssl_version'\")->fetch_row()[1], \"\\n\";\n"
        );
        let o = run(mywire().arg("keylog").arg("--out").arg(&php).arg("--").args(["php", "-r", &code]));
        let err = text(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert_eq!(text(&o.stdout).trim(), "mywire-php TLSv1.3", "{err}");
        assert!(err.contains("links libssl.so.3: hookable"), "{err}");
        assert_eq!(randoms(&php, "CLIENT_TRAFFIC_SECRET_0").len(), 1, "{err}");
    } else {
        println!("PHP part skipped: no php with mysqli (apt-get install php-cli php-mysql)");
    }

    // (d) the server's key log: one file, every client connection
    let counts = dump.stop();
    let (code, err) = db.stop();
    assert_eq!(code, Some(0), "mywire keylog -- mariadbd: {err}");
    assert!(err.contains("/usr/sbin/mariadbd links libssl.so.3: hookable"), "{err}");
    let n13 = if have_php { 3 } else { 2 };
    assert!(err.contains(&format!("({n13} TLS 1.3 and 1 TLS 1.2 sessions)")), "{err}");
    assert_eq!(std::fs::metadata(&server_keys).unwrap().mode() & 0o777, 0o600);
    let srv13 = randoms(&server_keys, "CLIENT_TRAFFIC_SECRET_0");
    let srv12 = randoms(&server_keys, "CLIENT_RANDOM");
    let mut clients13 = randoms(&cli13, "CLIENT_TRAFFIC_SECRET_0");
    clients13.extend(randoms(&py, "CLIENT_TRAFFIC_SECRET_0"));
    clients13.extend(randoms(&php, "CLIENT_TRAFFIC_SECRET_0"));
    assert_eq!(srv13, clients13, "the server's TLS 1.3 sessions are exactly the clients'");
    assert_eq!(srv12, randoms(&cli12, "CLIENT_RANDOM"));

    // (e) tshark: nothing readable without keys; the server's key log alone
    // decrypts every connection; one client's log decrypts only its own
    let plain = tshark_queries(&cap, db.port, None);
    assert!(streams_with(&plain, "mywire-").is_empty(), "queries readable without keys: {plain:?}");
    let all = tshark_queries(&cap, db.port, Some(&server_keys));
    println!("tshark with the server's key log: {all:?}");
    let lost =
        run(Command::new("tshark").arg("-r").arg(&cap).args(["-Y", "tcp.analysis.lost_segment", "-T", "fields", "-e", "frame.number"]));
    let diag = format!("{all:?}\ntcpdump: {counts}\nframes after a lost segment: {}", text(&lost.stdout).trim());
    let mut tags = vec!["mywire-cli-13", "mywire-cli-12", "mywire-py"];
    if have_php {
        tags.push("mywire-php");
    }
    let mut distinct = BTreeSet::new();
    for t in &tags {
        let s = streams_with(&all, &format!("SELECT '{t}'"));
        assert_eq!(s.len(), 1, "{t} not decrypted (or twice): {diag}");
        distinct.extend(s);
    }
    assert_eq!(distinct.len(), tags.len(), "one connection each: {diag}");
    let only13 = tshark_queries(&cap, db.port, Some(&cli13));
    assert_eq!(streams_with(&only13, "mywire-cli-13"), streams_with(&all, "mywire-cli-13"));
    assert!(streams_with(&only13, "mywire-py").is_empty() && streams_with(&only13, "mywire-cli-12").is_empty());
    let only_py = tshark_queries(&cap, db.port, Some(&py));
    assert_eq!(streams_with(&only_py, "mywire-py"), streams_with(&all, "mywire-py"));
    assert!(streams_with(&only_py, "mywire-cli-13").is_empty());

    // nothing left behind: mariadbd is gone with mywire
    assert!(db.pid > 0);
    assert!(nix::sys::signal::kill(nix::unistd::Pid::from_raw(db.pid), None).is_err(), "mariadbd {} still running", db.pid);
    let mut log = String::new();
    let _ = std::fs::File::open(dir.join("err.log")).and_then(|mut f| f.read_to_string(&mut log));
    assert!(!log.contains("mywire-keylog:"), "the preload complained in the server's log: {log}");
    d.disable_cleanup(keep);
}
