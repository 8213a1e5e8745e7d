//! Maven `pom.xml`: dependencies with an explicit version (a literal, or a
//! `${property}` of the same pom). The project itself is not a dependency;
//! test-scoped dependencies are not shipped and are skipped; versions that only
//! a parent pom or a BOM would give are unknown here and skipped.

use std::collections::HashMap;

use quick_xml::events::Event;

use super::{Ctx, Extractor, Found, purl};
use crate::{Package, Warning};

pub(super) struct PomXml;

#[derive(Default)]
struct Dep {
    group: Option<String>,
    artifact: Option<String>,
    version: Option<String>,
    scope: Option<String>,
}

fn substitute(v: &str, props: &HashMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = v;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        out.push_str(props.get(&rest[start + 2..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

impl Extractor for PomXml {
    fn name(&self) -> &'static str {
        "java/pom-xml"
    }
    fn version(&self) -> u32 {
        2
    }
    fn wants(&self, path: &str) -> bool {
        path.ends_with("/pom.xml") && !path.contains("/META-INF/")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let mut reader = quick_xml::Reader::from_reader(data);
        reader.config_mut().trim_text(true);
        let mut stack: Vec<String> = Vec::new();
        let mut props: HashMap<String, String> = HashMap::new();
        let mut deps: Vec<Dep> = Vec::new();
        // `<dependencyManagement>`: versions for dependencies that name none.
        let mut managed: Vec<Dep> = Vec::new();
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf) {
                Ok(Event::Start(e)) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    if stack.len() == 2
                        && stack[1] == "dependencies"
                        && stack[0] == "project"
                        && name == "dependency"
                    {
                        deps.push(Dep::default());
                    }
                    if stack.len() == 3
                        && stack[..] == ["project", "dependencyManagement", "dependencies"]
                        && name == "dependency"
                    {
                        managed.push(Dep::default());
                    }
                    stack.push(name);
                }
                Ok(Event::End(_)) => {
                    stack.pop();
                }
                Ok(Event::Text(t)) => {
                    let text = String::from_utf8_lossy(t.as_ref()).trim().to_owned();
                    let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                    match path.as_slice() {
                        ["project", "properties", key] => {
                            props.insert((*key).to_owned(), text);
                        }
                        ["project", "version"] => {
                            props.insert("project.version".into(), text);
                        }
                        ["project", "groupId"] => {
                            props.insert("project.groupId".into(), text);
                        }
                        ["project", "parent", "version"] => {
                            props
                                .entry("project.version".into())
                                .or_insert(text.clone());
                            props.insert("project.parent.version".into(), text);
                        }
                        [
                            "project",
                            "dependencyManagement",
                            "dependencies",
                            "dependency",
                            field,
                        ] => {
                            if let Some(d) = managed.last_mut() {
                                match *field {
                                    "groupId" => d.group = Some(text),
                                    "artifactId" => d.artifact = Some(text),
                                    "version" => d.version = Some(text),
                                    "scope" => d.scope = Some(text),
                                    _ => {}
                                }
                            }
                        }
                        ["project", "dependencies", "dependency", field] => {
                            if let Some(d) = deps.last_mut() {
                                match *field {
                                    "groupId" => d.group = Some(text),
                                    "artifactId" => d.artifact = Some(text),
                                    "version" => d.version = Some(text),
                                    "scope" => d.scope = Some(text),
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Ok(Event::Eof) => break,
                Err(e) => {
                    found.warnings.push(Warning {
                        path: path.to_owned(),
                        line: None,
                        message: format!("invalid XML at byte {}: {e}", reader.error_position()),
                        unread: Some(crate::Unread::Inventory),
                    });
                    return found;
                }
                _ => {}
            }
            buf.clear();
        }
        let mut inherited = Vec::new();
        for mut d in deps {
            if d.scope.as_deref() == Some("test") {
                continue;
            }
            if d.version.is_none() {
                d.version = managed
                    .iter()
                    .find(|m| m.group == d.group && m.artifact == d.artifact)
                    .and_then(|m| m.version.clone());
            }
            let (Some(g), Some(a)) = (d.group, d.artifact) else {
                continue;
            };
            let Some(v) = d.version else {
                // From a parent pom or an imported BOM, which are other files.
                inherited.push(format!("{g}:{a}"));
                continue;
            };
            let (Some(g), Some(v)) = (substitute(&g, &props), substitute(&v, &props)) else {
                continue;
            };
            // Version ranges (`[1.0,2.0)`) are not exact versions.
            if v.starts_with(['[', '(']) {
                continue;
            }
            let purl = purl("maven", Some(&g), &a, &v, &[]);
            found.packages.push(Package::new(
                "maven",
                &format!("{g}:{a}"),
                &v,
                purl,
                path,
                self.name(),
            ));
        }
        if !inherited.is_empty() {
            found.warnings.push(Warning {
                path: path.to_owned(),
                line: None,
                message: format!(
                    "{} dependencies take their versions from a parent pom or an imported BOM, which are not read: {}",
                    inherited.len(),
                    inherited.join(", ")
                ),
                unread: None,
            });
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_and_property_versions_only() {
        let pom = r#"<?xml version="1.0"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <groupId>com.example</groupId><artifactId>app</artifactId><version>1.0.0</version>
  <properties><text.version>1.9</text.version></properties>
  <dependencyManagement><dependencies><dependency><groupId>x</groupId><artifactId>managed</artifactId><version>9</version></dependency></dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>org.apache.commons</groupId><artifactId>commons-text</artifactId><version>${text.version}</version></dependency>
    <dependency><groupId>org.yaml</groupId><artifactId>snakeyaml</artifactId><version>1.30</version></dependency>
    <dependency><groupId>com.example</groupId><artifactId>sibling</artifactId><version>${project.version}</version></dependency>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13</version><scope>test</scope></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId></dependency>
    <dependency><groupId>x</groupId><artifactId>managed</artifactId></dependency>
    <dependency><groupId>a</groupId><artifactId>ranged</artifactId><version>[1.0,2.0)</version></dependency>
    <dependency><groupId>a</groupId><artifactId>unknown</artifactId><version>${nope}</version></dependency>
  </dependencies>
</project>"#;
        let found = PomXml.extract("/src/pom.xml", pom.as_bytes(), &Ctx::default());
        let got: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("org.apache.commons:commons-text", "1.9"),
                ("org.yaml:snakeyaml", "1.30"),
                ("com.example:sibling", "1.0.0"),
                ("x:managed", "9")
            ]
        );
        // What a parent or BOM decides is named, not silently dropped.
        assert!(
            found
                .warnings
                .iter()
                .any(|w| w.message.contains("1 dependencies take their versions")
                    && w.message.ends_with("org.slf4j:slf4j-api")),
            "{:?}",
            found.warnings
        );
        let bad = PomXml.extract(
            "/src/pom.xml",
            b"<project><dependencies><dependency></project>",
            &Ctx::default(),
        );
        assert!(!bad.warnings.is_empty());
    }
}
