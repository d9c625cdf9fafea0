//! The export bucket: the exporter writes each document there, the export route hands out
//! expiring links to it, and an organization's deletion empties its prefix.
//!
//! A document is written as it is read: in parts of [`PART_SIZE`] (an S3 multipart upload),
//! so the exporter's memory holds one part and one page, whatever the organization's size.
//! A document smaller than one part is one `PutObject`. Every attempt writes a key of its
//! own (`exports/<organization>/<export>/<attempt>.json`): two deliveries of one job never
//! overwrite each other's document, and the export records the key of the one it kept.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use aws_smithy_types::error::display::DisplayErrorContext;
use chrono::{DateTime, Utc};

use crate::domain::{ExportId, OrgId};

/// The size of each uploaded part but the last: S3 wants at least 5 MiB.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// S3's limit of parts per upload: with [`PART_SIZE`], a document of up to 80 GiB.
const MAX_PARTS: i32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// S3 refused, failed or did not answer: try again later.
    #[error("S3: {0}")]
    Unavailable(String),
    #[error("the document would need more than {MAX_PARTS} parts")]
    TooLarge,
}

fn unavailable<E: std::error::Error + 'static>(e: E) -> ArchiveError {
    ArchiveError::Unavailable(DisplayErrorContext(&e).to_string())
}

/// A link that downloads one export until it expires.
#[derive(Debug, Clone)]
pub struct DownloadLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Archive {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl Archive {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }

    fn organization_prefix(organization: OrgId) -> String {
        format!("exports/{organization}/")
    }

    /// A new key for one attempt at writing the export's document.
    fn attempt_key(organization: OrgId, export: ExportId) -> String {
        format!("{}{export}/{}.json", Self::organization_prefix(organization), uuid::Uuid::new_v4().simple())
    }

    /// Whether `key` is one of the organization's: a stored key is used only if so.
    pub fn holds(organization: OrgId, key: &str) -> bool {
        key.starts_with(&Self::organization_prefix(organization))
    }

    /// A writer of one attempt's document.
    pub fn writer(&self, organization: OrgId, export: ExportId) -> DocumentWriter<'_> {
        DocumentWriter {
            archive: self,
            key: Self::attempt_key(organization, export),
            buffer: Vec::with_capacity(PART_SIZE + PART_SIZE / 4),
            upload: None,
            size: 0,
            digest: aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256),
        }
    }

    /// A pre-signed GET of the object `key`, valid for `ttl`, that saves it as a file named
    /// after the export. Signing is local: no call to S3.
    pub async fn download_link(
        &self,
        key: &str,
        export: ExportId,
        ttl: Duration,
    ) -> Result<DownloadLink, ArchiveError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(ttl).map_err(unavailable)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type("application/json")
            .response_content_disposition(format!("attachment; filename=\"taskflow-export-{export}.json\""))
            .presigned(config)
            .await
            .map_err(unavailable)?;
        let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        Ok(DownloadLink { url: request.uri().to_owned(), expires_at })
    }

    pub async fn delete(&self, key: &str) -> Result<(), ArchiveError> {
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(unavailable)?;
        Ok(())
    }

    /// Deletes every object of the organization's prefix, and gives up every upload under it
    /// that a dead exporter left unfinished (a listing of objects does not show those):
    /// how many objects there were.
    pub async fn delete_organization(&self, organization: OrgId) -> Result<usize, ArchiveError> {
        loop {
            let uploads = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(Self::organization_prefix(organization))
                .send()
                .await
                .map_err(unavailable)?;
            if uploads.uploads().is_empty() {
                break;
            }
            for upload in uploads.uploads() {
                let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else { continue };
                let abort = self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(id);
                abort.send().await.map_err(unavailable)?;
            }
        }
        let mut deleted = 0;
        loop {
            // Each listing starts again from the top: what was deleted is gone from it.
            let listed = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(Self::organization_prefix(organization))
                .send()
                .await
                .map_err(unavailable)?;
            let objects: Vec<ObjectIdentifier> = listed
                .contents()
                .iter()
                .filter_map(|o| ObjectIdentifier::builder().set_key(o.key().map(str::to_owned)).build().ok())
                .collect();
            if objects.is_empty() {
                return Ok(deleted);
            }
            deleted += objects.len();
            let delete = Delete::builder().set_objects(Some(objects)).quiet(true).build().map_err(unavailable)?;
            let out =
                self.client.delete_objects().bucket(&self.bucket).delete(delete).send().await.map_err(unavailable)?;
            if let Some(error) = out.errors().first() {
                return Err(ArchiveError::Unavailable(format!(
                    "an object was not deleted: {}",
                    error.message().unwrap_or("no reason given")
                )));
            }
        }
    }
}

/// What a finished document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub key: String,
    pub size_bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// One document on its way to S3: text is added with [`Self::push`] and [`Self::push_json`],
/// and [`Self::ship`] uploads the full parts the buffer holds.
pub struct DocumentWriter<'a> {
    archive: &'a Archive,
    key: String,
    buffer: Vec<u8>,
    /// The multipart upload, once the document outgrew one part: its id and the parts sent.
    upload: Option<(String, Vec<CompletedPart>)>,
    size: u64,
    digest: aws_lc_rs::digest::Context,
}

impl DocumentWriter<'_> {
    pub fn push(&mut self, text: &[u8]) {
        self.buffer.extend_from_slice(text);
    }

    pub fn push_json<T: serde::Serialize>(&mut self, value: &T) {
        serde_json::to_writer(&mut self.buffer, value).expect("domain values always serialise");
    }

    /// Uploads every full part the buffer holds.
    pub async fn ship(&mut self) -> Result<(), ArchiveError> {
        while self.buffer.len() >= PART_SIZE {
            let rest = self.buffer.split_off(PART_SIZE);
            let part = std::mem::replace(&mut self.buffer, rest);
            self.upload_part(part).await?;
        }
        Ok(())
    }

    async fn upload_part(&mut self, part: Vec<u8>) -> Result<(), ArchiveError> {
        let (client, bucket) = (&self.archive.client, &self.archive.bucket);
        if self.upload.is_none() {
            let created =
                client.create_multipart_upload().bucket(bucket).key(&self.key).content_type("application/json");
            let id = created
                .send()
                .await
                .map_err(unavailable)?
                .upload_id
                .ok_or_else(|| ArchiveError::Unavailable("S3 answered a multipart upload without its id".into()))?;
            self.upload = Some((id, Vec::new()));
        }
        let (id, parts) = self.upload.as_mut().expect("created above");
        let number = i32::try_from(parts.len() + 1).unwrap_or(i32::MAX);
        if number > MAX_PARTS {
            return Err(ArchiveError::TooLarge);
        }
        self.digest.update(&part);
        self.size += part.len() as u64;
        let sent = client
            .upload_part()
            .bucket(bucket)
            .key(&self.key)
            .upload_id(id.as_str())
            .part_number(number)
            .body(ByteStream::from(part))
            .send()
            .await
            .map_err(unavailable)?;
        parts.push(CompletedPart::builder().part_number(number).set_e_tag(sent.e_tag).build());
        Ok(())
    }

    /// Uploads what is left and completes the document; a failure gives the upload up.
    pub async fn finish(mut self) -> Result<Written, ArchiveError> {
        match self.complete().await {
            Ok(written) => Ok(written),
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn complete(&mut self) -> Result<Written, ArchiveError> {
        let (client, bucket) = (&self.archive.client, &self.archive.bucket);
        let rest = std::mem::take(&mut self.buffer);
        if self.upload.is_none() {
            self.digest.update(&rest);
            self.size += rest.len() as u64;
            client
                .put_object()
                .bucket(bucket)
                .key(&self.key)
                .content_type("application/json")
                .body(ByteStream::from(rest))
                .send()
                .await
                .map_err(unavailable)?;
        } else {
            if !rest.is_empty() {
                self.upload_part(rest).await?;
            }
            let (id, parts) = self.upload.take().expect("a multipart upload");
            let parts = CompletedMultipartUpload::builder().set_parts(Some(parts)).build();
            client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(&self.key)
                .upload_id(id)
                .multipart_upload(parts)
                .send()
                .await
                .map_err(unavailable)?;
        }
        let sha256 = self.digest.clone().finish().as_ref().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Written { key: self.key.clone(), size_bytes: self.size, sha256 })
    }

    /// Gives a multipart upload up, so S3 does not keep its parts (the bucket's lifecycle
    /// rule removes what a crash leaves behind).
    pub async fn abort(&self) {
        if let Some((id, _)) = &self.upload {
            let (client, bucket) = (&self.archive.client, &self.archive.bucket);
            let result = client.abort_multipart_upload().bucket(bucket).key(&self.key).upload_id(id).send().await;
            if let Err(e) = result {
                tracing::warn!(error = %DisplayErrorContext(&e), "a failed export's upload was not aborted");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_of_one_export_write_keys_of_their_own_under_the_organization() {
        let (organization, export) = (OrgId::generate(), ExportId::generate());
        let (one, two) = (Archive::attempt_key(organization, export), Archive::attempt_key(organization, export));
        assert_ne!(one, two);
        assert!(one.starts_with(&format!("exports/{organization}/{export}/")) && one.ends_with(".json"));
        assert!(Archive::holds(organization, &one));
        assert!(!Archive::holds(OrgId::generate(), &one));
    }
}
