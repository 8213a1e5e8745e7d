//! Registries: reconciling the service's images with a registry's catalog,
//! push notifications, and the rescan window.
//!
//! A sync lists the catalog and every watched repository's tags (pages
//! followed), resolves each tag to its manifest digest, and then:
//! - a digest not seen before becomes one resource (`host/repo@digest`),
//!   however many tags point at it, and is scanned unless the registry is
//!   `MANUAL`;
//! - a digest no tag points at any more is `RESOURCE_TERMINATED` and its
//!   findings close;
//! - an image last pushed longer ago than the rescan window is `INACTIVE`
//!   / `SCAN_ELIGIBILITY_EXPIRED` and its findings close, until it is
//!   pushed again.
//!
//! A sync that fails part-way changes nothing it did not finish reading:
//! an unreachable registry terminates nothing. Notifications (Docker
//! Distribution's envelope, `action: push`) are only a trigger: the
//! registry keeps them in memory, so the periodic sync catches what was
//! missed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use vigia_engine::RegistryFailure;
use vigia_engine::discovery::Discovery;

use super::{Service, ServiceError, now};
use crate::jobs::JobKind;
use crate::registries::{Frequency, Registry, RegistryImage, rescan_days};

/// The job subject of a registry's sync.
#[must_use]
pub(crate) fn sync_subject(name: &str) -> String {
    format!("registry:{name}")
}

/// Manifest media types a push notification names an image by (blob
/// pushes, which Distribution notifies too, are not images).
fn is_manifest(media_type: &str) -> bool {
    media_type.contains("manifest") || media_type.contains("image.index")
}

/// Now, to the microsecond: when tags were seen and images pushed, so that
/// a sync can tell what a notification recorded while it read.
fn precise_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// What a sync read: each watched tag and the digest it points at, and
/// the repositories it could not read (with why).
#[derive(Default)]
struct Read {
    seen: BTreeMap<(String, String), String>,
    unread: BTreeMap<String, String>,
}

async fn read_registry(reg: &Registry) -> Result<Read, vigia_engine::Error> {
    let discovery = Discovery::new(&reg.url, reg.credentials())?;
    let page = usize::try_from(reg.page_size).unwrap_or(100);
    let mut read = Read::default();
    for repository in discovery.repositories(page).await? {
        if !reg.watches(&repository) {
            continue;
        }
        // One repository that cannot be read (a robot account not allowed
        // to pull it, a tag the registry fails on) is left as it was: the
        // others are reconciled.
        let tags = match discovery.tags(&repository, page).await {
            // Deleted since the catalog named it: no tags.
            Ok(None) => continue,
            Ok(Some(tags)) => tags,
            Err(e) => {
                read.unread
                    .insert(repository, vigia_engine::error_chain(&e));
                continue;
            }
        };
        let mut resolved = Vec::new();
        let mut failed = None;
        for tag in tags {
            match discovery.resolve(&repository, &tag).await {
                Ok(Some(target)) => resolved.push((tag, target.digest)),
                Ok(None) => {}
                Err(e) => {
                    failed = Some(vigia_engine::error_chain(&e));
                    break;
                }
            }
        }
        match failed {
            Some(message) => {
                read.unread.insert(repository, message);
            }
            None => {
                for (tag, digest) in resolved {
                    read.seen.insert((repository.clone(), tag), digest);
                }
            }
        }
    }
    Ok(read)
}

impl Service {
    /// Adds the syncs of registries that are due: never synced, or synced
    /// longer ago than their `syncSeconds`.
    pub(super) async fn schedule_syncs(&self) -> Result<(), ServiceError> {
        let now_t = jiff::Timestamp::now();
        for state in self.db.registries().await? {
            let due = state.synced_at.as_deref().is_none_or(|at| {
                at.parse::<jiff::Timestamp>().is_ok_and(|t| {
                    now_t.as_second() >= t.as_second().saturating_add(state.registry.sync_seconds)
                })
            });
            if due
                && self
                    .db
                    .enqueue(
                        JobKind::Discover,
                        &sync_subject(&state.registry.name),
                        None,
                        &now(),
                    )
                    .await?
            {
                self.wake.notify_one();
            }
        }
        Ok(())
    }

    /// Adds a registry (or replaces the configuration of the one of that
    /// name) and syncs it.
    pub async fn add_registry(&self, registry: &Registry) -> Result<(), ServiceError> {
        self.db.put_registry(registry, &now()).await?;
        self.sync_soon(&registry.name).await
    }

    /// Syncs a registry now (at the next free worker).
    pub async fn sync_soon(&self, name: &str) -> Result<(), ServiceError> {
        if self
            .db
            .enqueue(JobKind::Discover, &sync_subject(name), None, &now())
            .await?
        {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Reconciles one registry with its catalog (a `Discover` job).
    pub(super) async fn sync_registry(&self, name: &str) -> Result<(), ServiceError> {
        let Some(state) = self.db.registry(name).await? else {
            return Ok(());
        };
        let reg = state.registry;
        // What a push notification records while the registry is read is
        // newer than what the read says: it is left as it is.
        let started = precise_now();
        let read = match read_registry(&reg).await {
            Ok(read) => read,
            Err(e) => {
                let message = vigia_engine::error_chain(&e);
                tracing::warn!(registry = %reg.name, error = %message, "registry sync failed");
                self.db
                    .registry_synced(&reg.name, &now(), Some(&message))
                    .await?;
                // Refused credentials: every image of the registry says so
                // (findings kept); they are scanned again once it lets
                // Vigia in.
                if let vigia_engine::Error::Registry {
                    failure: RegistryFailure::AccessDenied,
                    ..
                } = e
                {
                    for image in self.db.registry_images(&reg.name).await? {
                        if let Some(r) = self.db.resource_by_source(&image.source).await?
                            && !image.gone
                            && !crate::resources::retired(&r.status_reason)
                            && r.origin != "deleted"
                        {
                            self.db
                                .set_coverage(
                                    &image.source,
                                    "INACTIVE",
                                    "ACCESS_DENIED",
                                    Some(&message),
                                    &now(),
                                )
                                .await?;
                        }
                    }
                }
                return Ok(());
            }
        };
        let now_s = precise_now();
        // Tags: the registry's word replaces what was stored, except in
        // repositories it could not be read from, and for tags a push
        // notification moved since the read began.
        let stored = self.db.registry_tags(&reg.name).await?;
        let mut seen = read.seen;
        let mut newer: BTreeSet<(String, String)> = BTreeSet::new();
        for (repo, tag, digest, seen_at) in &stored {
            let key = (repo.clone(), tag.clone());
            if read.unread.contains_key(repo) || seen_at.as_str() >= started.as_str() {
                seen.insert(key.clone(), digest.clone());
                newer.insert(key);
            }
        }
        let old: BTreeMap<(String, String), String> = stored
            .into_iter()
            .map(|(repo, tag, digest, _)| ((repo, tag), digest))
            .collect();
        for (repo, tag) in old.keys().filter(|k| !seen.contains_key(*k)) {
            self.db.delete_tag(&reg.name, repo, tag).await?;
        }
        let mut retagged = BTreeSet::new();
        for ((repo, tag), digest) in &seen {
            let key = (repo.clone(), tag.clone());
            if old.get(&key) != Some(digest) && !newer.contains(&key) {
                self.db
                    .put_tag(&reg.name, repo, tag, digest, &now_s)
                    .await?;
                retagged.insert(reg.source(repo, digest));
            }
        }
        for ((repo, tag), digest) in &old {
            if seen.get(&(repo.clone(), tag.clone())) != Some(digest) {
                retagged.insert(reg.source(repo, digest));
            }
        }
        for source in &retagged {
            self.refresh_tags(source).await?;
        }
        // Images: one per (repository, digest) a tag points at.
        let referenced: BTreeSet<(String, String)> = seen
            .iter()
            .map(|((repo, _), digest)| (repo.clone(), digest.clone()))
            .collect();
        let known: BTreeMap<String, RegistryImage> = self
            .db
            .registry_images(&reg.name)
            .await?
            .into_iter()
            .map(|i| (i.source.clone(), i))
            .collect();
        for (repo, digest) in &referenced {
            let source = reg.source(repo, digest);
            match known.get(&source) {
                // New, or back after no tag pointed at it.
                None => self.found_image(&reg, repo, digest, &now_s).await?,
                Some(i) if i.gone => self.found_image(&reg, repo, digest, &now_s).await?,
                Some(i) => self.retry_if_due(&reg, i).await?,
            }
        }
        for image in known.values() {
            let pointed_at = referenced.contains(&(image.repository.clone(), image.digest.clone()));
            // Pushed while the registry was read: the read may predate it.
            let pushed_since = image.pushed_at.as_str() >= started.as_str();
            if !image.gone && !pointed_at && !pushed_since {
                self.db.registry_image_gone(&image.source).await?;
                if let Some(r) = self.db.resource_by_source(&image.source).await?
                    && r.status_reason != "RESOURCE_TERMINATED"
                    && r.origin != "deleted"
                {
                    self.remove(&r).await?;
                }
            }
        }
        if !read.unread.is_empty() {
            let message = read
                .unread
                .iter()
                .map(|(repo, why)| format!("{repo}: {why}"))
                .collect::<Vec<_>>()
                .join("; ");
            tracing::warn!(registry = %reg.name, unread = %message, "repositories left as they were");
            self.expire(&reg).await?;
            self.db
                .registry_synced(
                    &reg.name,
                    &now(),
                    Some(&format!("not read, left as they were: {message}")),
                )
                .await?;
            return Ok(());
        }
        self.expire(&reg).await?;
        self.db.registry_synced(&reg.name, &now(), None).await?;
        Ok(())
    }

    /// An image found (pushed, or first seen by a sync at `pushed_at`):
    /// recorded, registered as a resource, and scanned unless the registry
    /// is `MANUAL`. An image pushed again after its rescan window, or
    /// after it was terminated, is evaluated again.
    async fn found_image(
        &self,
        reg: &Registry,
        repository: &str,
        digest: &str,
        pushed_at: &str,
    ) -> Result<(), ServiceError> {
        let source = reg.source(repository, digest);
        self.db
            .put_registry_image(&RegistryImage {
                source: source.clone(),
                registry: reg.name.clone(),
                repository: repository.to_owned(),
                digest: digest.to_owned(),
                pushed_at: pushed_at.to_owned(),
                gone: false,
            })
            .await?;
        let now_s = now();
        let record = self
            .db
            .register(&source, "AWS_ECR_CONTAINER_IMAGE", &now_s)
            .await?;
        // Deleted through the API: left alone until registered again.
        if record.origin == "deleted" {
            return Ok(());
        }
        if record.origin != "registry" {
            self.db.set_origin(&source, "registry").await?;
        }
        self.refresh_tags(&source).await?;
        if crate::resources::retired(&record.status_reason) {
            self.db.set_content_hash(&source, None).await?;
            self.db
                .set_coverage(&source, "ACTIVE", "PENDING_INITIAL_SCAN", None, &now_s)
                .await?;
        }
        self.scan_image_if_due(
            reg,
            &source,
            record.last_scanned_at.is_none() || crate::resources::retired(&record.status_reason),
        )
        .await
    }

    /// Queues the scan of a registry image, or (for a `MANUAL` registry)
    /// says that it waits to be asked for.
    async fn scan_image_if_due(
        &self,
        reg: &Registry,
        source: &str,
        needed: bool,
    ) -> Result<(), ServiceError> {
        if !needed {
            return Ok(());
        }
        if reg.frequency == Frequency::Manual {
            self.db
                .set_coverage(source, "INACTIVE", "SCAN_FREQUENCY_MANUAL", Some("the registry's scanFrequency is MANUAL: scanned when asked (/v1/resources/rescan)"), &now())
                .await?;
            return Ok(());
        }
        // The digest is the content: a job for it is the scan of this
        // content, whatever tag named it.
        let digest = source.rsplit_once('@').map(|(_, d)| d.to_owned());
        if self
            .db
            .enqueue(JobKind::Scan, source, digest.as_deref(), &now())
            .await?
        {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// A known image that a sync sees again: scanned again only when its
    /// last try could not read it for a reason that may have passed
    /// (credentials, the registry unreachable) or it was never scanned.
    async fn retry_if_due(
        &self,
        reg: &Registry,
        image: &RegistryImage,
    ) -> Result<(), ServiceError> {
        let Some(r) = self.db.resource_by_source(&image.source).await? else {
            return self
                .found_image(reg, &image.repository, &image.digest, &image.pushed_at)
                .await;
        };
        if r.origin == "deleted" || crate::resources::retired(&r.status_reason) {
            return Ok(());
        }
        // The registry's scanFrequency changed: scanned on push only
        // before, evaluated continuously now (scanned again, as advisories
        // moved meanwhile), or the other way.
        if r.status_reason == "SUCCESSFUL"
            && reg.frequency == Frequency::ScanOnPush
            && r.last_scanned_at.is_some()
        {
            self.db
                .set_coverage(
                    &image.source,
                    "ACTIVE",
                    "SCAN_FREQUENCY_SCAN_ON_PUSH",
                    None,
                    &now(),
                )
                .await?;
            return Ok(());
        }
        let needed = matches!(
            r.status_reason.as_str(),
            "PENDING_INITIAL_SCAN" | "ACCESS_DENIED" | "INTERNAL_ERROR"
        ) || (r.status_reason == "SCAN_FREQUENCY_MANUAL"
            && reg.frequency != Frequency::Manual)
            || (r.status_reason == "SCAN_FREQUENCY_SCAN_ON_PUSH"
                && reg.frequency == Frequency::Continuous);
        if needed {
            // The job is for this digest again.
            self.db.set_content_hash(&image.source, None).await?;
        }
        self.scan_image_if_due(reg, &image.source, needed).await
    }

    /// Images last pushed longer ago than the registry's rescan window:
    /// `INACTIVE` / `SCAN_ELIGIBILITY_EXPIRED`, their findings closed.
    async fn expire(&self, reg: &Registry) -> Result<(), ServiceError> {
        let Ok(Some(days)) = rescan_days(&reg.rescan_duration) else {
            return Ok(());
        };
        let cutoff = jiff::Timestamp::now().as_second() - days * 86_400;
        for image in self.db.registry_images(&reg.name).await? {
            let pushed = image
                .pushed_at
                .parse::<jiff::Timestamp>()
                .map_or(i64::MAX, jiff::Timestamp::as_second);
            if image.gone || pushed >= cutoff {
                continue;
            }
            let Some(r) = self.db.resource_by_source(&image.source).await? else {
                continue;
            };
            if r.origin == "deleted" || crate::resources::retired(&r.status_reason) {
                continue;
            }
            let now_s = now();
            let _turn = self.busy.lock().await;
            if r.last_scanned_at.is_some() && !self.db.shared(&r.id, &r.source).await? {
                self.db
                    .reconcile(
                        &r.id,
                        &[],
                        &super::ALL_TYPES,
                        &format!("rescan window {} passed", reg.rescan_duration),
                        &now_s,
                        true,
                        true,
                    )
                    .await?;
            }
            self.db
                .set_coverage(
                    &image.source,
                    "INACTIVE",
                    "SCAN_ELIGIBILITY_EXPIRED",
                    Some(&format!(
                        "last pushed at {}, longer ago than the registry's rescanDuration {}; pushing it again makes it eligible",
                        image.pushed_at, reg.rescan_duration
                    )),
                    &now_s,
                )
                .await?;
        }
        Ok(())
    }

    /// Takes a Docker Distribution notification envelope for registry
    /// `name`: each push of a manifest by tag to a watched repository
    /// points the tag at its digest and finds the image (scanned once
    /// per digest); a deletion syncs the registry. Returns how many events
    /// were taken, or `None` when there is no such registry.
    ///
    /// # Errors
    /// An envelope that is not `{"events": [...]}`, and the database's.
    pub async fn registry_notification(
        &self,
        name: &str,
        envelope: &Value,
    ) -> Result<Option<Result<usize, String>>, ServiceError> {
        let Some(state) = self.db.registry(name).await? else {
            return Ok(None);
        };
        let reg = state.registry;
        let Some(events) = envelope.get("events").and_then(Value::as_array) else {
            return Ok(Some(Err(
                "the body must be a notification envelope: {\"events\": [...]}".into(),
            )));
        };
        let mut taken = 0;
        let mut deleted = false;
        for e in events {
            let target = &e["target"];
            let repo = target["repository"].as_str().unwrap_or_default();
            let media_type = target["mediaType"].as_str().unwrap_or_default();
            if repo.is_empty() || !reg.watches(repo) {
                continue;
            }
            match e["action"].as_str() {
                Some("push") if is_manifest(media_type) => {
                    let digest = target["digest"].as_str().unwrap_or_default();
                    let tag = target["tag"].as_str().unwrap_or_default();
                    let valid = digest
                        .strip_prefix("sha256:")
                        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
                    // A manifest pushed by digest alone (a platform image
                    // of an index) is scanned through the tag that names
                    // its index.
                    if !valid || tag.is_empty() {
                        continue;
                    }
                    let now_s = precise_now();
                    // The tag's previous image loses it.
                    let before = self
                        .db
                        .registry_tags(&reg.name)
                        .await?
                        .into_iter()
                        .find(|(r, t, _, _)| r == repo && t == tag)
                        .map(|(_, _, d, _)| d);
                    self.db
                        .put_tag(&reg.name, repo, tag, digest, &now_s)
                        .await?;
                    self.found_image(&reg, repo, digest, &now_s).await?;
                    self.refresh_tags(&reg.source(repo, digest)).await?;
                    if let Some(old) = before.filter(|d| d != digest) {
                        self.refresh_tags(&reg.source(repo, &old)).await?;
                    }
                    taken += 1;
                }
                Some("delete") => {
                    deleted = true;
                    taken += 1;
                }
                _ => {}
            }
        }
        if deleted {
            self.sync_soon(&reg.name).await?;
        }
        Ok(Some(Ok(taken)))
    }

    /// Writes the tags that point at a registry image into its resource's
    /// details (its findings carry the tags of their last evaluation).
    pub(super) async fn refresh_tags(&self, source: &str) -> Result<(), ServiceError> {
        let Some(image) = self.db.registry_image(source).await? else {
            return Ok(());
        };
        let Some(r) = self.db.resource_by_source(source).await? else {
            return Ok(());
        };
        let mut details = r.details;
        // Not scanned yet: what the registry says of it.
        if details.pointer("/details/awsEcrContainerImage").is_none() {
            details = serde_json::json!({
                "type": "AWS_ECR_CONTAINER_IMAGE",
                "id": r.id,
                "details": {"awsEcrContainerImage": {
                    "repositoryName": image.repository,
                    "imageHash": image.digest,
                    "registry": source.split_once('/').map_or("", |(h, _)| h),
                }},
            });
        }
        let Some(d) = details.pointer_mut("/details/awsEcrContainerImage") else {
            return Ok(());
        };
        let tags = self.db.tags_of(&image).await?;
        d["imageTags"] = serde_json::json!(tags);
        d["pushedAt"] = Value::String(image.pushed_at.clone());
        self.db.set_details(source, &details).await?;
        Ok(())
    }

    /// The registry Vigia watches that holds an image, with the image's
    /// repository in it and its tag (when the reference has one).
    pub(super) async fn registry_of(
        &self,
        image: &crate::gate::ImageRef,
    ) -> Result<Option<(Registry, String, Option<String>)>, ServiceError> {
        let name = image
            .reference
            .split_once('@')
            .map_or(image.reference.as_str(), |(n, _)| n);
        // The tag is after the last ':' of the last path segment.
        let last = name.rsplit('/').next().unwrap_or(name);
        let tag = last.rsplit_once(':').map(|(_, t)| t.to_owned());
        for state in self.db.registries().await? {
            let reg = state.registry;
            let prefix = format!("{}/", reg.host());
            if let Some(repository) = image.repository.strip_prefix(&prefix)
                && reg.watches(repository)
            {
                let repository = repository.to_owned();
                return Ok(Some((reg, repository, tag)));
            }
        }
        Ok(None)
    }

    /// The digest a tag points at: as last seen, else as the registry
    /// says now (within 5 seconds).
    pub(super) async fn resolve_tag(
        &self,
        reg: &Registry,
        repository: &str,
        tag: &str,
    ) -> Result<Option<String>, ServiceError> {
        // The registry is asked first: a tag moved since the last sync
        // must be decided on the image it now pulls, not the one it held.
        // Only when the registry cannot answer does the last sync decide.
        let asked = match Discovery::new(&reg.url, reg.credentials()) {
            Ok(discovery) => match tokio::time::timeout(
                std::time::Duration::from_secs(5),
                discovery.resolve(repository, tag),
            )
            .await
            {
                Ok(Ok(found)) => return Ok(found.map(|target| target.digest)),
                Ok(Err(e)) => vigia_engine::error_chain(&e),
                Err(_) => "no answer within 5 s".to_owned(),
            },
            Err(e) => vigia_engine::error_chain(&e),
        };
        let synced = self
            .db
            .registry_tags(&reg.name)
            .await?
            .into_iter()
            .find(|(r, t, _, _)| r == repository && t == tag)
            .map(|(_, _, digest, _)| digest);
        tracing::warn!(registry = %reg.name, repository, tag, error = %asked, synced = synced.as_deref().unwrap_or("none"), "cannot resolve a tag for the gate; deciding on the digest of the last sync");
        Ok(synced)
    }

    /// Scans an image of a registry now (whatever its `scanFrequency`:
    /// the gate asks) and waits up to `wait` for the scan; `true` when it
    /// was scanned.
    pub(super) async fn scan_on_demand(
        &self,
        reg: &Registry,
        repository: &str,
        digest: &str,
        wait: std::time::Duration,
    ) -> Result<bool, ServiceError> {
        let source = reg.source(repository, digest);
        let known = self.db.registry_image(&source).await?;
        if known.is_none() {
            self.found_image(reg, repository, digest, &precise_now())
                .await?;
        }
        if let Some(r) = self.db.resource_by_source(&source).await?
            && r.origin != "deleted"
            && r.last_scanned_at.is_none()
            && self
                .db
                .enqueue(JobKind::Scan, &source, Some(digest), &now())
                .await?
        {
            self.wake.notify_one();
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(r) = self.db.resource_by_source(&source).await? {
                if r.last_scanned_at.is_some() {
                    return Ok(true);
                }
                // Tried and failed: the coverage says why.
                if r.status_code == "INACTIVE" && r.status_reason != "SCAN_FREQUENCY_MANUAL" {
                    return Ok(false);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Removes a registry: its images are terminated (findings closed).
    pub async fn delete_registry(&self, name: &str) -> Result<bool, ServiceError> {
        if self.db.registry(name).await?.is_none() {
            return Ok(false);
        }
        // Images first: a removal interrupted is done again, whole, when
        // asked again.
        for image in self.db.registry_images(name).await? {
            self.db.registry_image_gone(&image.source).await?;
            if let Some(r) = self.db.resource_by_source(&image.source).await?
                && r.status_reason != "RESOURCE_TERMINATED"
            {
                self.remove(&r).await?;
            }
        }
        self.db.delete_registry(name).await?;
        Ok(true)
    }

    /// How a registry image is pulled: its reference and the registry's
    /// access, size limit and platform.
    pub(super) async fn registry_request(
        &self,
        image: &RegistryImage,
    ) -> Result<Option<vigia_engine::ScanRequest>, ServiceError> {
        let Some(state) = self.db.registry(&image.registry).await? else {
            return Ok(None);
        };
        let reg = state.registry;
        let mut request =
            vigia_engine::ScanRequest::new(vigia_scan::TargetKind::Image, image.source.clone());
        // Images from registries are scanned for package vulnerabilities,
        // as Inspector scans ECR images: layers already read are then not
        // pulled again (a secret scan would read every layer's files).
        request.scanners.secret = false;
        request.platform.clone_from(&reg.platform);
        request.max_image_bytes = u64::try_from(reg.max_image_bytes).ok();
        let (username, password) = reg.credentials().unzip();
        request.registry = Some(vigia_engine::RegistryCredentials {
            insecure: reg.insecure(),
            username,
            password,
        });
        Ok(Some(request))
    }

    /// The coverage reason after a successful scan of a registry image.
    pub(super) async fn scanned_reason(&self, source: &str) -> Result<&'static str, ServiceError> {
        let Some(image) = self.db.registry_image(source).await? else {
            return Ok("SUCCESSFUL");
        };
        Ok(match self.db.registry(&image.registry).await? {
            Some(s) if s.registry.frequency == Frequency::ScanOnPush => {
                "SCAN_FREQUENCY_SCAN_ON_PUSH"
            }
            _ => "SUCCESSFUL",
        })
    }
}
