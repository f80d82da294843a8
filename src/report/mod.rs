//! Report writers, all folding the same [`model::RunReport`].

pub mod model;
