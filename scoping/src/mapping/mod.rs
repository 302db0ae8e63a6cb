//! Attribute mappings (in progress).

/// placeholder
#[derive(Debug)]
pub struct AttributeMapping;
/// placeholder
#[derive(Debug)]
pub struct FlowType;
/// placeholder
#[derive(Debug)]
pub struct MappingSet;
/// placeholder
#[derive(Debug)]
pub struct MappingSource;
