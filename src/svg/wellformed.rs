//! A tiny XML well-formedness checker for the tests (no XML crate needed):
//! matched tags, one root, quoted and unique attributes, and only the five
//! predefined entities.

/// Checks that `&` only starts `&amp;` `&lt;` `&gt;` `&quot;` or `&apos;`,
/// and that no `<` appears (text and attribute values).
fn check_chars(s: &str, at: usize) -> Result<(), String> {
    if let Some(i) = s.find('<') {
        return Err(format!("raw '<' at byte {}", at + i));
    }
    for (i, _) in s.match_indices('&') {
        let rest = &s[i..];
        if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
            .iter()
            .any(|e| rest.starts_with(e))
        {
            return Err(format!(
                "bad entity at byte {}: {}",
                at + i,
                &rest[..rest.len().min(10)]
            ));
        }
    }
    Ok(())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')
}

/// Reads a name at the start of `s`; returns it (non-empty, not starting with
/// a digit, `-` or `.`).
fn name(s: &str, at: usize) -> Result<&str, String> {
    let end = s.find(|c: char| !is_name_char(c)).unwrap_or(s.len());
    let n = &s[..end];
    match n.chars().next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => Ok(n),
        _ => Err(format!("bad name at byte {at}")),
    }
}

/// `Ok(())` if `doc` is well-formed XML (no prolog, DTD or CDATA support:
/// our documents use none), otherwise a message with a byte offset.
pub(crate) fn check(doc: &str) -> Result<(), String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut i = 0;
    while i < doc.len() {
        let rest = &doc[i..];
        let Some(lt) = rest.find('<') else {
            if !rest.trim().is_empty() {
                return Err(format!("text after the root at byte {i}"));
            }
            break;
        };
        let text = &rest[..lt];
        if stack.is_empty() && !text.trim().is_empty() {
            return Err(format!("text outside the root at byte {i}"));
        }
        check_chars(text, i)?;
        i += lt;
        let rest = &doc[i..];
        if let Some(c) = rest.strip_prefix("<!--") {
            let end = c.find("-->").ok_or("unterminated comment")?;
            i += 4 + end + 3;
            continue;
        }
        if let Some(c) = rest.strip_prefix("</") {
            let n = name(c, i + 2)?;
            let after = c[n.len()..].trim_start();
            if !after.starts_with('>') {
                return Err(format!("bad end tag </{n} at byte {i}"));
            }
            match stack.pop() {
                Some(open) if open == n => {}
                other => return Err(format!("</{n}> at byte {i} closes {other:?}")),
            }
            i += 2 + c.find('>').unwrap_or(0) + 1;
            continue;
        }
        // Start tag.
        let n = name(&rest[1..], i + 1)?;
        if stack.is_empty() {
            roots += 1;
            if roots > 1 {
                return Err(format!("second root element <{n}> at byte {i}"));
            }
        }
        let mut j = i + 1 + n.len();
        let mut attrs: Vec<&str> = Vec::new();
        loop {
            let r = &doc[j..];
            let trimmed = r.trim_start();
            let ws = r.len() - trimmed.len();
            j += ws;
            if trimmed.starts_with("/>") {
                j += 2;
                break;
            }
            if trimmed.starts_with('>') {
                stack.push(n);
                j += 1;
                break;
            }
            if ws == 0 {
                return Err(format!("missing space before attribute at byte {j}"));
            }
            let a = name(trimmed, j)?;
            if attrs.contains(&a) {
                return Err(format!("duplicate attribute {a} at byte {j}"));
            }
            attrs.push(a);
            j += a.len();
            let r = &doc[j..];
            let Some(q) = r.strip_prefix('=').and_then(|r| r.chars().next()) else {
                return Err(format!("attribute {a} at byte {j} has no '='"));
            };
            if q != '"' && q != '\'' {
                return Err(format!("attribute {a} at byte {j} is not quoted"));
            }
            let value_start = j + 2;
            let len = doc[value_start..]
                .find(q)
                .ok_or(format!("unterminated value of {a}"))?;
            check_chars(&doc[value_start..value_start + len], value_start)?;
            j = value_start + len + 1;
        }
        i = j;
    }
    match (stack.last(), roots) {
        (Some(open), _) => Err(format!("<{open}> is never closed")),
        (None, 0) => Err("no root element".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_well_formed() {
        check("<svg a=\"1\" b='2'><g><text>x &amp; &lt;y&gt;</text></g><rect/></svg>\n").unwrap();
        check("<a><!-- <b> --></a>").unwrap();
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "<a><b></a>",
            "<a>",
            "<a></a><b/>",
            "<a x=1/>",
            "<a x=\"1\" x=\"2\"/>",
            "<a x=\"1\"y=\"2\"/>",
            "<a>&nbsp;</a>",
            "<a>x & y</a>",
            "<a x=\"<\"/>",
            "<a x=\"1/>",
            "text<a/>",
            "<1a/>",
            "",
        ] {
            assert!(check(bad).is_err(), "accepted {bad:?}");
        }
    }
}
