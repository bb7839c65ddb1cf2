//! The cost benchmark's parts: item sizes and capacity units as DynamoDB bills them, and a
//! metering proxy that records them for every call the functions make to the local emulator.

#![warn(missing_docs)]

pub mod billing;
pub mod cpu;
pub mod init;
pub mod meter;
pub mod size;
