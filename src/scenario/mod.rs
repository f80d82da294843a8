//! Scenarios: the model and the loader.

pub mod model;
