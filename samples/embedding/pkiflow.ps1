# pkiflow from PowerShell 7 on Linux: the C ABI of libpkiflow.so.1 (pkiflow/pkiflow.h) through
# Add-Type and P/Invoke. A sketch for runbooks: open an engine on a configuration, request the
# configured certificates, run, and print the records.
#   pwsh ./pkiflow.ps1 /etc/pkiflow/pkiflow.json
# pwsh is not installed where pkiflow's tests run; tests/api/c_api_test.py makes the same calls
# from Python and checks that every function declared below is exported by the library and
# declared in pkiflow.h with as many parameters.
param([Parameter(Mandatory = $true)][string]$ConfigFile)
$ErrorActionPreference = 'Stop'

Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;

public static class Pkiflow {
    const string Lib = "libpkiflow.so.1";

    [DllImport(Lib)] public static extern int pkiflow_abi_version();
    [DllImport(Lib)] public static extern int pkiflow_open(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string optionsJson, out IntPtr engine, out IntPtr error);
    [DllImport(Lib)] public static extern void pkiflow_close(IntPtr engine);
    [DllImport(Lib)] public static extern IntPtr pkiflow_last_error(IntPtr engine);
    [DllImport(Lib)] public static extern int pkiflow_request_configured(IntPtr engine, out IntPtr resultJson);
    [DllImport(Lib)] public static extern int pkiflow_status_json(IntPtr engine, int includeRetired, out IntPtr recordsJson);
    [DllImport(Lib)] public static extern int pkiflow_run(IntPtr engine,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string optionsJson, IntPtr onTransition, IntPtr user,
        out IntPtr resultJson);
    [DllImport(Lib)] public static extern int pkiflow_renew(IntPtr engine,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string id, out IntPtr resultJson);
    [DllImport(Lib)] public static extern void pkiflow_free(IntPtr text);

    // The string a call returned, released with pkiflow_free.
    public static string Take(IntPtr text) {
        if (text == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(text); } finally { pkiflow_free(text); }
    }
}
'@

if ([Pkiflow]::pkiflow_abi_version() -ne 1) { throw "libpkiflow.so.1 has another ABI version" }
$options = @{ config_file = $ConfigFile } | ConvertTo-Json -Compress
$engine = [IntPtr]::Zero
$err = [IntPtr]::Zero
if ([Pkiflow]::pkiflow_open($options, [ref]$engine, [ref]$err) -ne 0) {
    throw [Pkiflow]::Take($err)
}
try {
    # Each call: 0, or a status code and the engine's last error.
    function Invoke-Pkiflow([scriptblock]$Call) {
        $out = [IntPtr]::Zero
        $rc = & $Call ([ref]$out)
        if ($rc -ne 0) { throw [Runtime.InteropServices.Marshal]::PtrToStringUTF8([Pkiflow]::pkiflow_last_error($engine)) }
        [Pkiflow]::Take($out) | ConvertFrom-Json
    }
    Invoke-Pkiflow { param($o) [Pkiflow]::pkiflow_request_configured($engine, $o) } | Out-Null
    $result = Invoke-Pkiflow { param($o) [Pkiflow]::pkiflow_run($engine, $null, [IntPtr]::Zero, [IntPtr]::Zero, $o) }
    Invoke-Pkiflow { param($o) [Pkiflow]::pkiflow_status_json($engine, 0, $o) } |
        ForEach-Object { $_ } | Format-Table id, name, kind, state, not_after
    exit $result.exit   # as `pkiflow run` exits: 0, 5, 7, 8 or 9
} finally {
    [Pkiflow]::pkiflow_close($engine)
}
