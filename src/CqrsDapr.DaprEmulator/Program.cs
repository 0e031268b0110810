using CqrsDapr.DaprEmulator.Hosting;

// A Dapr-API-compatible sidecar for machines without daprd: development and test only, never deployed.
EmulatorOptions options;
try
{
    options = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
}
catch (CommandLineException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}

return await EmulatorHost.RunAsync(options);
