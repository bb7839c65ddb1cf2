#![no_main]
//! `cargo fuzz run feedback_request`: see aftercare_fuzz_targets::feedback_request.

libfuzzer_sys::fuzz_target!(|data: &[u8]| aftercare_fuzz_targets::feedback_request(data));
