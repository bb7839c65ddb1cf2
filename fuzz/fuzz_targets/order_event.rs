#![no_main]
//! `cargo fuzz run order_event`: see aftercare_fuzz_targets::order_event.

libfuzzer_sys::fuzz_target!(|data: &[u8]| aftercare_fuzz_targets::order_event(data));
