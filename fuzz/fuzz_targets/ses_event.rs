#![no_main]
//! `cargo fuzz run ses_event`: see aftercare_fuzz_targets::ses_event.

libfuzzer_sys::fuzz_target!(|data: &[u8]| aftercare_fuzz_targets::ses_event(data));
