//! The commands, by what they work on. Each is a few lines over the `onsite-client` facade;
//! the text they print for people is in `render`.

pub mod jobs;
pub mod record;
pub mod replica;
pub mod serial;
pub mod sign;
pub mod support;
pub mod sync;
