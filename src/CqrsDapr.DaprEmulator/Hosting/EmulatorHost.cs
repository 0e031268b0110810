using System.Net;
using CqrsDapr.DaprEmulator.Actors;
using CqrsDapr.DaprEmulator.Api;
using CqrsDapr.DaprEmulator.Api.Grpc;
using CqrsDapr.DaprEmulator.Api.Http;
using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.Invocation;
using CqrsDapr.DaprEmulator.PubSub;
using CqrsDapr.DaprEmulator.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Hosting;

/// <summary>Composition of the sidecar: Kestrel on the HTTP and gRPC ports, components, APIs and the app channel.</summary>
internal static partial class EmulatorHost
{
    public static async Task<int> RunAsync(EmulatorOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        ConfigureLogging(builder.Logging, options);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            foreach (var address in options.ListenAddresses)
            {
                var ip = address is "localhost" ? IPAddress.Loopback : IPAddress.Parse(address.Trim('[', ']'));
                kestrel.Listen(ip, options.HttpPort, listen => listen.Protocols = HttpProtocols.Http1);
                // gRPC over h2c: cleartext HTTP/2 needs a port that speaks HTTP/2 only (prior knowledge).
                kestrel.Listen(ip, options.GrpcPort, listen => listen.Protocols = HttpProtocols.Http2);
            }
        });

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton<SidecarStatus>();
        services.AddSingleton(sp => new ResourceLoader(options.AppId, Environment.GetEnvironmentVariable, sp.GetRequiredService<ILoggerFactory>().CreateLogger("dapr.runtime"))
            .Load(options.ResourcesPaths, options.ConfigPath));
        services.AddSingleton<ComponentRegistry>();
        services.AddSingleton<StateApi>();
        services.AddSingleton<PublishApi>();
        services.AddSingleton<MetadataApi>();
        services.AddSingleton<AppChannel.AppChannel>();
        services.AddSingleton<ActorRuntime>();
        services.AddSingleton<SubscriptionManager>();
        services.AddSingleton<DaprGrpcApi>();
        services.AddSingleton<AppRegistry>();
        services.AddSingleton<ServiceInvocation>();
        services.AddHostedService<SidecarStartup>();
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<DaprGrpcInterceptor>();
            grpc.MaxReceiveMessageSize = 4 * 1024 * 1024;
            grpc.EnableDetailedErrors = false;
        });
        services.AddGrpcReflection();

        await using var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("dapr.runtime");
        LogStarting(logger, options.AppId, options.HttpPort, options.GrpcPort, options.AppPort);
        foreach (var flag in options.IgnoredFlags)
        {
            LogIgnoredFlag(logger, flag);
        }

        var registry = app.Services.GetRequiredService<ComponentRegistry>();
        try
        {
            var resources = app.Services.GetRequiredService<LoadedResources>();
            await registry.InitializeAsync(resources.Components, app.Lifetime.ApplicationStopping);
        }
        catch (ResourceException ex)
        {
            LogFatal(logger, ex.Message);
            return 1;
        }

        app.UseMiddleware<ApiTokenMiddleware>();
        app.Use((context, next) => ServiceInvocation.RouteByAppIdHeaderAsync(context, () => next(context)));
        app.MapGrpcService<DaprGrpcApi>();
        app.MapGrpcReflectionService();
        app.MapDaprHttpApi();
        ServiceInvocation.MapServiceInvocation(app);
        ActorRuntime.MapEndpoints(app);
        app.MapNotImplementedFallback();

        try
        {
            await app.StartAsync();
        }
        catch (IOException ex)
        {
            LogFatal(logger, "cannot listen: " + ex.Message);
            return 1;
        }

        app.Services.GetRequiredService<SidecarStatus>().MarkOutboundReady();
        var names = app.Services.GetRequiredService<AppRegistry>();
        try
        {
            names.Register(InvocationEndpoint(options));
            await using var stopping = app.Lifetime.ApplicationStopping.Register(names.Unregister);
            await app.WaitForShutdownAsync();
        }
        finally
        {
            names.Unregister();
        }

        return Environment.ExitCode;
    }

    /// <summary>Where other sidecars reach this one's HTTP API: its first listen address (loopback for a wildcard).</summary>
    private static string InvocationEndpoint(EmulatorOptions options)
    {
        var address = options.ListenAddresses.Count > 0 ? options.ListenAddresses[0].Trim('[', ']') : "127.0.0.1";
        var host = address switch
        {
            "0.0.0.0" or "localhost" => "127.0.0.1",
            "::" => "[::1]",
            _ when IPAddress.TryParse(address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 => $"[{address}]",
            _ => address,
        };
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"http://{host}:{options.HttpPort}");
    }

    private static void ConfigureLogging(ILoggingBuilder logging, EmulatorOptions options)
    {
        logging.ClearProviders();
        if (options.LogAsJson)
        {
            logging.AddJsonConsole(json => json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ");
        }
        else
        {
            logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss.fff ";
                console.UseUtcTimestamp = true;
            });
        }

        var level = options.LogLevel switch
        {
            "debug" => LogLevel.Debug,
            "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "fatal" => LogLevel.Critical,
            _ => LogLevel.Information,
        };
        logging.SetMinimumLevel(level);
        // ASP.NET Core's own request logs are noise next to the sidecar's API logs.
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Grpc", LogLevel.Warning);
        logging.AddFilter("System.Net.Http", LogLevel.Warning);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Starting Dapr emulator for app '{AppId}': HTTP API on {HttpPort}, gRPC API on {GrpcPort}, app port {AppPort}")]
    private static partial void LogStarting(ILogger logger, string appId, int httpPort, int grpcPort, int? appPort);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flag --{Flag} is accepted for compatibility with daprd but not emulated")]
    private static partial void LogIgnoredFlag(ILogger logger, string flag);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Fatal error from the Dapr emulator: {Error}")]
    private static partial void LogFatal(ILogger logger, string error);
}
