# fish completion for zkcli: its options, one-shot commands with their options, and znode paths read live
# from the server named by -server (default localhost:2181). The candidates come from `zkcli --complete`,
# which knows the commands and gives up on an unreachable server after about a second, printing nothing.

function __zkcli_complete
    set -l before (commandline --tokenize --cut-at-cursor --current-process)
    set -l current (commandline --current-token --cut-at-cursor)
    set -l reply ($before[1] --complete -- $before[2..-1] "$current" 2>/dev/null)
    switch "$reply[1]"
        case files
            __fish_complete_path "$current"
        case directories
            __fish_complete_directories "$current"
        case words
            printf '%s\n' $reply[2..-1]
    end
end

complete --command zkcli --no-files --arguments '(__zkcli_complete)'
