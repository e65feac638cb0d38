# bash completion for zkcli: its options, one-shot commands with their options, and znode paths read live
# from the server named by -server (default localhost:2181). The candidates come from `zkcli --complete`,
# which knows the commands and gives up on an unreachable server after about a second, printing nothing.

_zkcli() {
    # The line up to the cursor, split at blanks. COMP_WORDS is not used for this: bash also splits it at
    # COMP_WORDBREAKS, so `-server host:2181` would arrive in three pieces.
    local line
    if [[ -n ${COMP_LINE+set} ]]; then
        line=${COMP_LINE:0:COMP_POINT}
    else
        line="${COMP_WORDS[*]:0:COMP_CWORD+1}"
    fi
    local -a words
    read -r -a words <<<"$line"
    if [[ ${#words[@]} -eq 0 || $line == *[[:blank:]] ]]; then
        words+=("")
    fi
    local current=${words[${#words[@]} - 1]}

    local -a reply
    mapfile -t reply < <("${words[0]}" --complete -- "${words[@]:1}" 2>/dev/null)
    COMPREPLY=()
    case ${reply[0]} in
    files)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$current")
        ;;
    directories)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$current")
        ;;
    words)
        # bash replaces only its own last word, which starts after the last word-break character (`:` or
        # `=` in a path such as /locks/host:1).
        local tail=$current
        while [[ $tail == *["$COMP_WORDBREAKS"]* ]]; do
            tail=${tail#*["$COMP_WORDBREAKS"]}
        done
        local replaced=$((${#current} - ${#tail}))
        local entry
        for entry in "${reply[@]:1}"; do
            entry=${entry%%$'\t'*}
            COMPREPLY+=("${entry:replaced}")
        done
        ;;
    esac
}

complete -F _zkcli zkcli
