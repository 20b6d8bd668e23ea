//! Live capture with libpcap (the `pcap` crate): immediate mode, a non-zero
//! read timeout (so stop requests are seen; rust-pcap#103), a kernel buffer
//! sized for bursts, BPF, drop statistics, optional `-w` savefile.

use super::{Frame, LinkType};
use crate::time::Timestamp;
use pcap::{Active, Capture, Device};
use thiserror::Error;

/// Why live capture could not start or continue.
#[derive(Debug, Error)]
pub enum LiveError {
    /// No permission to open the device.
    #[error(
        "no permission to capture on {iface}: {msg}\n  run as root, or grant the capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip $(command -v mywire)"
    )]
    Permission {
        /// Interface.
        iface: String,
        /// libpcap's message.
        msg: String,
    },
    /// Unknown interface.
    #[error("no such interface {iface:?}; available: {available}")]
    NoSuchDevice {
        /// Interface asked for.
        iface: String,
        /// Interfaces libpcap lists.
        available: String,
    },
    /// The BPF expression does not compile.
    #[error("invalid BPF filter {expr:?}: {msg}")]
    Filter {
        /// The expression.
        expr: String,
        /// libpcap's message.
        msg: String,
    },
    /// Any other libpcap error.
    #[error("live capture on {iface}: {msg}")]
    Pcap {
        /// Interface.
        iface: String,
        /// libpcap's message.
        msg: String,
    },
}

/// Options for [`LiveSource::open`].
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Interface name, `any`, or `None` for libpcap's default.
    pub iface: Option<String>,
    /// BPF expression.
    pub bpf: String,
    /// Bytes captured per frame.
    pub snaplen: i32,
    /// Kernel buffer in bytes.
    pub buffer_size: i32,
    /// Read timeout in milliseconds (non-zero, so stop requests are noticed).
    pub timeout_ms: i32,
}

/// Kernel and interface drop counters (pcap_stats).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct LiveStats {
    /// Packets received by the filter.
    pub received: u32,
    /// Packets dropped because the kernel buffer was full.
    pub dropped_kernel: u32,
    /// Packets dropped by the interface or driver.
    pub dropped_interface: u32,
}

/// An open live capture.
pub struct LiveSource {
    cap: Capture<Active>,
    link: LinkType,
    /// The interface actually opened.
    pub iface: String,
    save: Option<super::writer::PcapWriter<crate::output::OutputFile>>,
    snaplen: u32,
}

fn available() -> String {
    Device::list().map(|l| l.into_iter().map(|d| d.name).collect::<Vec<_>>().join(", ")).unwrap_or_else(|e| e.to_string())
}

impl LiveSource {
    /// Opens the device and applies the filter.
    pub fn open(o: &LiveOptions) -> Result<Self, LiveError> {
        let dev = match &o.iface {
            Some(name) => {
                let list = Device::list().map_err(|e| LiveError::Pcap { iface: name.clone(), msg: e.to_string() })?;
                match list.into_iter().find(|d| &d.name == name) {
                    Some(d) => d,
                    None => return Err(LiveError::NoSuchDevice { iface: name.clone(), available: available() }),
                }
            }
            None => Device::lookup()
                .map_err(|e| LiveError::Pcap { iface: "default".into(), msg: e.to_string() })?
                .ok_or_else(|| LiveError::NoSuchDevice { iface: "(default)".into(), available: available() })?,
        };
        let iface = dev.name.clone();
        let perm = |msg: String| {
            if msg.contains("ermission") || msg.contains("not permitted") {
                LiveError::Permission { iface: iface.clone(), msg }
            } else {
                LiveError::Pcap { iface: iface.clone(), msg }
            }
        };
        let mut cap = Capture::from_device(dev)
            .map_err(|e| perm(e.to_string()))?
            .promisc(false)
            .immediate_mode(true)
            .timeout(o.timeout_ms.max(1))
            .snaplen(o.snaplen)
            .buffer_size(o.buffer_size)
            .open()
            .map_err(|e| perm(e.to_string()))?;
        cap.filter(&o.bpf, true).map_err(|e| LiveError::Filter { expr: o.bpf.clone(), msg: e.to_string() })?;
        // In immediate mode the read timeout does not bound a blocking read on Linux
        // (TPACKET_V3), so a stop request could wait forever: read non-blocking and
        // let the caller idle briefly when nothing is queued.
        let cap = cap.setnonblock().map_err(|e| LiveError::Pcap { iface: iface.clone(), msg: e.to_string() })?;
        let link = LinkType(cap.get_datalink().0);
        Ok(LiveSource { cap, link, iface, save: None, snaplen: o.snaplen.max(0) as u32 })
    }

    /// Also writes every frame to `out` (`-w`), as a pcap file of this
    /// capture's link type; the file replaces its target at [`LiveSource::finish_savefile`].
    pub fn save_to(&mut self, out: crate::output::OutputFile) -> std::io::Result<()> {
        self.save = Some(super::writer::PcapWriter::new(out, self.link, self.snaplen)?);
        Ok(())
    }

    /// The next frame, `Ok(None)` when none is queued (after a 2 ms idle; call again), or an error
    /// (interface gone and the like: stop and report).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, LiveError> {
        match self.cap.next_packet() {
            Ok(p) => {
                let ts = Timestamp::from_parts(p.header.ts.tv_sec, p.header.ts.tv_usec.max(0) as u64, 1_000_000);
                let frame = Frame { ts, link: self.link, orig_len: p.header.len, data: p.data };
                if let Some(s) = self.save.as_mut()
                    && let Err(e) = s.write(&frame)
                {
                    return Err(LiveError::Pcap { iface: self.iface.clone(), msg: format!("writing the -w file: {e}") });
                }
                Ok(Some(frame))
            }
            Err(pcap::Error::TimeoutExpired) => {
                std::thread::sleep(std::time::Duration::from_millis(2));
                Ok(None)
            }
            Err(e) => Err(LiveError::Pcap { iface: self.iface.clone(), msg: e.to_string() }),
        }
    }

    /// Kernel and interface drops so far.
    pub fn stats(&mut self) -> LiveStats {
        self.cap
            .stats()
            .map(|s| LiveStats { received: s.received, dropped_kernel: s.dropped, dropped_interface: s.if_dropped })
            .unwrap_or_default()
    }

    /// Completes the `-w` file: flushed, then it replaces its target.
    pub fn finish_savefile(&mut self) -> anyhow::Result<()> {
        match self.save.take() {
            Some(w) => w.finish()?.commit(),
            None => Ok(()),
        }
    }
}

/// The user to switch to after the device is open (`--user`), looked up
/// before anything else happens; `None` when not root (nothing to drop).
pub fn lookup_user(user: &str) -> Result<Option<crate::output::Owner>, String> {
    use nix::unistd::{Uid, User};
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let u = User::from_name(user)
        .map_err(|e| format!("looking up user {user}: {e}"))?
        .ok_or_else(|| format!("no such user {user:?} (use --user NAME or --no-drop)"))?;
    Ok(Some(crate::output::Owner { uid: u.uid.as_raw(), gid: u.gid.as_raw() }))
}

/// Drops root privileges to `to` (like `tcpdump -Z`), after the device is open.
pub fn drop_privileges(to: crate::output::Owner) -> Result<(), String> {
    use nix::unistd::{Gid, Uid, setgid, setgroups, setuid};
    let (uid, gid) = (Uid::from_raw(to.uid), Gid::from_raw(to.gid));
    setgroups(&[gid]).map_err(|e| format!("setgroups: {e}"))?;
    setgid(gid).map_err(|e| format!("setgid: {e}"))?;
    setuid(uid).map_err(|e| format!("setuid: {e}"))?;
    Ok(())
}
