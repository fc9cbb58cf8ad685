//! Values that name one of a few choices (`--offload-fs auto|always|never`, the priority
//! classes): one parser, so that every such flag refuses a wrong word the same way, naming the
//! words it takes.

/// The value named `s` among `choices`, or why `s` is none of them.
pub(crate) fn one_of<T: Copy>(s: &str, choices: &[(&str, T)]) -> Result<T, String> {
    match choices.iter().find(|(name, _)| *name == s) {
        Some(&(_, value)) => Ok(value),
        None => {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            Err(format!("{s:?} is not one of {}", names.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_gives_its_value_and_a_wrong_one_lists_the_names() {
        let choices = [("on", true), ("off", false)];
        assert_eq!(super::one_of("off", &choices), Ok(false));
        assert_eq!(
            super::one_of("On", &choices),
            Err("\"On\" is not one of on, off".to_owned())
        );
    }
}
