//! Damaged WALs on a stopped node: a flipped bit in a complete record stops
//! the node with the file and offset; a torn tail is cut and the node starts;
//! an emptied segment refuses the start (exit 3) until `--recover-amnesiac`.

use std::path::{Path, PathBuf};

use synod::node::bench::local::Stop;
use synod::node::config::Tuning;
use synod::node::identity::STORAGE_DIR;
use synod::node::storage::{FRAME_HEADER_BYTES, GROUP_HEADER_BYTES, SEGMENT_HEADER_BYTES};

use super::support::{
    client, log, other_than, start3, Acked, CATCH_UP_WAIT, EXIT_WAIT, STATUS_WAIT,
};

/// The WAL segment with the highest sequence number that holds bytes.
fn last_segment(data_dir: &Path) -> PathBuf {
    let dir = data_dir.join(STORAGE_DIR);
    let mut segments: Vec<(u64, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let seq = name
                .strip_prefix("wal-")?
                .strip_suffix(".log")?
                .parse()
                .ok()?;
            (std::fs::metadata(&p).ok()?.len() > 0).then_some((seq, p))
        })
        .collect();
    segments.sort();
    segments
        .pop()
        .unwrap_or_else(|| panic!("no non-empty WAL segment in {}", dir.display()))
        .1
}

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
}

/// The start offsets and payload lengths of the records of a WAL segment
/// (after its header, groups `body_len: u32 LE | seq | crc` of frames
/// `len: u32 LE | crc: u32 LE | payload`).
fn records(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut group = SEGMENT_HEADER_BYTES;
    while group + GROUP_HEADER_BYTES <= bytes.len() {
        let end = (group + GROUP_HEADER_BYTES + u32_at(bytes, group)).min(bytes.len());
        let mut at = group + GROUP_HEADER_BYTES;
        while at + FRAME_HEADER_BYTES <= end {
            let len = u32_at(bytes, at);
            out.push((at, len));
            at += FRAME_HEADER_BYTES + len;
        }
        group = end;
    }
    out
}

#[test]
fn corrupted_wal_record_stops_the_node_naming_file_and_offset() {
    let (mut c, leader) = start3(Tuning::default());
    let mut acked = Acked::default();
    acked.put_range(&mut client(&c), "k", 0..30);
    let victim = other_than(&c, leader);
    let status = c.stop(victim, Stop::Term, EXIT_WAIT).unwrap();
    assert!(status.success(), "SIGTERM must shut down cleanly: {status}");
    let segment = last_segment(c.data_dir(victim).unwrap());
    let mut bytes = std::fs::read(&segment).unwrap();
    let recs = records(&bytes);
    assert!(recs.len() >= 3, "too few records to corrupt the middle one");
    // The middle record with a payload: flip one bit in the middle of it.
    let (start, len) = recs[recs.len() / 2..]
        .iter()
        .copied()
        .find(|&(_, len)| len > 0)
        .unwrap();
    bytes[start + FRAME_HEADER_BYTES + len / 2] ^= 0x10;
    std::fs::write(&segment, &bytes).unwrap();

    c.start(victim, false).unwrap();
    let status = c
        .wait_exit(victim, EXIT_WAIT)
        .unwrap()
        .expect("a node with a corrupt WAL record must refuse to start");
    assert_eq!(status.code(), Some(3), "it exited {status}");
    let text = log(&c, victim);
    let file_name = segment.file_name().unwrap().to_str().unwrap();
    assert!(
        text.contains(file_name) && text.contains(&format!("offset {start}")),
        "stderr must name {file_name} and offset {start}:\n{text}"
    );
    // The other two keep serving, and nothing acknowledged was lost.
    acked.check_all(&mut client(&c));
}

#[test]
fn torn_wal_tail_is_cut_and_the_node_starts() {
    let (mut c, leader) = start3(Tuning::default());
    let mut acked = Acked::default();
    acked.put_range(&mut client(&c), "k", 0..20);
    let victim = other_than(&c, leader);
    c.stop(victim, Stop::Term, EXIT_WAIT).unwrap();
    let segment = last_segment(c.data_dir(victim).unwrap());
    let len = std::fs::metadata(&segment).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);

    c.start(victim, false).unwrap();
    acked.put_range(&mut client(&c), "more-", 0..10);
    let applied = c.status(leader, STATUS_WAIT).unwrap().applied_upto;
    c.wait_status(victim, CATCH_UP_WAIT, "catch up after a torn tail", |s| {
        s.applied_upto >= applied
    })
    .unwrap();
    assert!(c.is_running(victim).unwrap(), "the node must keep running");
    let text = log(&c, victim);
    assert!(
        text.contains("torn"),
        "the cut must be reported in the log:\n{text}"
    );
    acked.check_all(&mut client(&c));
}

/// Issue 11: with one node down, writes acknowledged by the other two, and
/// one of those two's newest segment emptied, that node must not recover as
/// a voting member with less than it promised (its answers and votes could
/// lose acknowledged writes): it refuses to start, exit 3, naming the file.
/// Restarted with `--recover-amnesiac` (and the third node back), nothing
/// acknowledged is lost.
#[test]
fn an_emptied_wal_segment_refuses_the_start_until_recover_amnesiac() {
    let (mut c, leader) = start3(Tuning::default());
    let victim = other_than(&c, leader);
    let down = c
        .ids()
        .into_iter()
        .find(|&n| n != leader && n != victim)
        .unwrap();
    c.stop(down, Stop::Term, EXIT_WAIT).unwrap();
    let mut acked = Acked::default();
    acked.put_range(&mut client(&c), "k", 0..20);
    c.stop(victim, Stop::Term, EXIT_WAIT).unwrap();
    let segment = last_segment(c.data_dir(victim).unwrap());
    std::fs::File::create(&segment).unwrap(); // emptied

    c.start(victim, false).unwrap();
    let status = c
        .wait_exit(victim, EXIT_WAIT)
        .unwrap()
        .expect("a node with an emptied WAL segment must refuse to start");
    assert_eq!(status.code(), Some(3), "it exited {status}");
    let text = log(&c, victim);
    let file_name = segment.file_name().unwrap().to_str().unwrap();
    assert!(
        text.contains(file_name)
            && text.contains("offset 0")
            && text.contains("--recover-amnesiac"),
        "stderr must name {file_name} at offset 0 and the way out:\n{text}"
    );
    assert_eq!(
        std::fs::metadata(&segment).unwrap().len(),
        0,
        "left untouched"
    );

    c.start(down, false).unwrap();
    c.start_with_flags(victim, &["--recover-amnesiac"]).unwrap();
    acked.check_all(&mut client(&c));
    assert!(
        c.is_running(victim).unwrap(),
        "the amnesiac node keeps running"
    );
    assert!(log(&c, victim).contains("mode=amnesiac"));
}
