#![no_main]
//! `cargo fuzz run issue_resolved`: see aftercare_fuzz_targets::issue_resolved.

libfuzzer_sys::fuzz_target!(|data: &[u8]| aftercare_fuzz_targets::issue_resolved(data));
