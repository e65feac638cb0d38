# bash completion for zkserver: its options, the log levels and formats, and .cfg files (and directories to look in) for
# the zoo.cfg argument.

_zkserver() {
    local current=${COMP_WORDS[COMP_CWORD]}
    local previous=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case $previous in
    --port | --host | --secure-port)
        return
        ;;
    --data-dir)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$current")
        return
        ;;
    --log-level)
        mapfile -t COMPREPLY < <(compgen -W 'trace debug info notice warning error critical' -- "$current")
        return
        ;;
    --log-format)
        mapfile -t COMPREPLY < <(compgen -W 'text logfmt json' -- "$current")
        return
        ;;
    esac
    if [[ $current == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W '--port --host --secure-port --data-dir --in-memory --log-level --log-format --check-config -h --help' -- "$current")
        return
    fi
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -d -- "$current"; compgen -f -X '!*.cfg' -- "$current")
}

complete -F _zkserver zkserver
