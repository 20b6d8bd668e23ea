//! The analyser's streaming front: KILLs and finished connections in, as the
//! pipeline produces them; each connection's record and findings out to a
//! callback as it is added (for NDJSON); the report at the end.

use super::Analyzer;
use crate::capture::InputInfo;
use crate::config::AnalyzerConfig;
use crate::decode::DecodeStats;
use crate::flow::FlowStats;
use crate::model::{FinishedConn, KillEvent};
use crate::report::model::{CaptureSummary, ConnReport, Finding, LiveCapture, Report};
use anyhow::Result;

/// Called for each connection as it ends, with the findings it added.
pub type OnConn<'a> = dyn FnMut(&ConnReport, &[Finding]) -> Result<()> + 'a;

/// The analyser end of the pipeline. Calls `on_conn` for each connection as
/// it is added, so reports can stream.
pub struct Collector<'a> {
    an: Analyzer,
    on_conn: &'a mut OnConn<'a>,
}

impl<'a> Collector<'a> {
    /// A collector with `cfg`, calling `on_conn` as connections are added.
    pub fn new(cfg: AnalyzerConfig, on_conn: &'a mut OnConn<'a>) -> Self {
        Collector { an: Analyzer::new(cfg), on_conn }
    }

    /// Learns a KILL as it is seen (it may end a connection still open).
    pub fn kill(&mut self, k: KillEvent) {
        self.an.learn_kill(k);
    }

    /// Adds the connections that ended at one frame, in id order: the order
    /// (and so every finding) does not depend on how flows were spread over threads.
    pub fn add(&mut self, mut finished: Vec<FinishedConn>) -> Result<()> {
        finished.sort_by_key(|f| f.id);
        for fc in finished {
            let (ci, nf) = self.an.add(fc);
            let at = self.an.findings.len() - nf;
            (self.on_conn)(&self.an.conns[ci], &self.an.findings[at..])?;
            for f in &mut self.an.findings[at..] {
                f.streamed = true;
            }
            // streamed in full; the report keeps what its caps allow
            self.an.trim_last(nf);
        }
        Ok(())
    }

    /// The report as if the capture ended now, with `open` (copies of the
    /// connections still open) added to a copy of the analyser.
    pub fn snapshot(&self, open: Vec<FinishedConn>, inputs: Vec<InputInfo>, capture: CaptureSummary) -> Report {
        let mut an = self.an.clone();
        for fc in open {
            an.add(fc);
        }
        if let Some(l) = &capture.live {
            an.capture_drops(l);
        }
        an.capture_flows(&capture.flows);
        an.report(inputs, Vec::new(), capture)
    }

    /// The report, once every connection was added.
    pub fn report(
        mut self,
        inputs: Vec<InputInfo>,
        warnings: Vec<String>,
        decode: &DecodeStats,
        flows: &FlowStats,
        live: Option<LiveCapture>,
    ) -> Report {
        if let Some(l) = &live {
            self.an.capture_drops(l);
        }
        self.an.capture_decode(decode);
        self.an.capture_flows(flows);
        self.an.report(inputs, warnings, CaptureSummary { decode: decode.clone(), flows: flows.clone(), live })
    }
}
