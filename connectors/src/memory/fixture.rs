//! [`MemoryDirectory`] as a [`SourceFixture`]: the conformance kit changes the directory
//! through its own target side.

use async_trait::async_trait;
use scim_model::patch::{PatchOp, PatchOperation};
use scim_model::{AttributePath, Resource};
use serde_json::Value;

use super::MemoryDirectory;
use crate::Result;
use crate::conformance::source::SourceFixture;
use crate::target::TargetConnector;
use crate::types::{ObjectType, SourceId, TargetId};

fn member_values(members: &[SourceId]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|id| serde_json::json!({"value": id.as_str()}))
            .collect(),
    )
}

#[async_trait]
impl SourceFixture for MemoryDirectory {
    async fn create(&self, object_type: &ObjectType, resource: &Resource) -> Result<SourceId> {
        let o = TargetConnector::create(self, object_type, resource, None).await?;
        Ok(SourceId::new(o.id.into_string()))
    }

    async fn update(
        &self,
        object_type: &ObjectType,
        id: &SourceId,
        resource: &Resource,
    ) -> Result<()> {
        let id = TargetId::new(id.as_str());
        TargetConnector::replace(self, object_type, &id, resource, None).await?;
        Ok(())
    }

    async fn delete(&self, object_type: &ObjectType, id: &SourceId) -> Result<()> {
        TargetConnector::delete(self, object_type, &TargetId::new(id.as_str()), None).await
    }

    async fn add_members(&self, group: &SourceId, members: &[SourceId]) -> Result<()> {
        let patch = PatchOp::new().add(AttributePath::new("members"), member_values(members));
        let id = TargetId::new(group.as_str());
        TargetConnector::patch(self, &ObjectType::GROUP, &id, &patch, None).await?;
        Ok(())
    }

    async fn remove_members(&self, group: &SourceId, members: &[SourceId]) -> Result<()> {
        let patch = PatchOp::from_operations(vec![PatchOperation::remove_values(
            AttributePath::new("members"),
            member_values(members),
        )]);
        let id = TargetId::new(group.as_str());
        TargetConnector::patch(self, &ObjectType::GROUP, &id, &patch, None).await?;
        Ok(())
    }
}
