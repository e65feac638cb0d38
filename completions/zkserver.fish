# fish completion for zkserver: its options, the log levels, and .cfg files for the zoo.cfg argument.

function __zkserver_config_files
    set -l token (commandline --current-token)
    __fish_complete_directories "$token" ''
    for file in $token*.cfg
        test -f "$file"; and echo $file
    end
end

complete --command zkserver --no-files --arguments '(__zkserver_config_files)'
complete --command zkserver --long-option port --exclusive --description 'The client port (clientPort); 0 picks a free one'
complete --command zkserver --long-option host --exclusive --description 'The address to listen on (clientPortAddress)'
complete --command zkserver --long-option secure-port --exclusive --description 'A port that accepts only TLS (secureClientPort); 0 picks a free one'
complete --command zkserver --long-option data-dir --exclusive --arguments '(__fish_complete_directories (commandline --current-token))' --description 'The data directory (dataDir)'
complete --command zkserver --long-option in-memory --description 'Keep everything in memory (no data directory)'
complete --command zkserver --long-option log-level --exclusive --arguments 'trace debug info notice warning error critical' --description 'How much to log'
complete --command zkserver --long-option log-format --exclusive --arguments 'text logfmt json' --description 'One line per message: text, logfmt or json'
complete --command zkserver --long-option check-config --description 'Check the configuration and exit'
complete --command zkserver --short-option h --long-option help --description 'Show help information'
