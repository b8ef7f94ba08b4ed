//! The sessions list: normalisation of gateway answers into the product's shape.

pub mod normalize;
