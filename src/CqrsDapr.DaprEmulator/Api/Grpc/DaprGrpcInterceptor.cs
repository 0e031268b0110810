using CqrsDapr.DaprEmulator.Hosting;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Api.Grpc;

/// <summary>
/// Enforces <c>DAPR_API_TOKEN</c> (metadata <c>dapr-api-token</c>, daprd 1.16 <c>pkg/api/grpc/endpoints.go</c>:
/// <c>Unauthenticated</c> when missing or wrong), maps API errors to daprd's status codes and logs every call at debug.
/// </summary>
internal sealed partial class DaprGrpcInterceptor(EmulatorOptions options, ILogger<DaprGrpcInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        if (options.ApiToken is { } token)
        {
            var presented = context.RequestHeaders.GetValue("dapr-api-token");
            if (presented is null)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "missing api token in request metadata"));
            }

            if (!string.Equals(presented, token, StringComparison.Ordinal))
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "authentication error: api token mismatch"));
            }
        }

        try
        {
            var response = await continuation(request, context);
            LogCall(logger, context.Method, StatusCode.OK, "");
            return response;
        }
        catch (DaprApiException ex)
        {
            LogCall(logger, context.Method, ex.GrpcStatus, ex.Message);
            throw new RpcException(new Status(ex.GrpcStatus, ex.Message));
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "gRPC API called: {Method} -> {Status} {Error}")]
    private static partial void LogCall(ILogger logger, string method, StatusCode status, string error);
}
