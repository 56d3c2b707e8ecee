using Microsoft.AspNetCore.Http;
using Whitesky.Emulator.Auth;
using Whitesky.Emulator.Models;

namespace Whitesky.Emulator.Routes;

internal sealed partial class EmulatorApi
{
    private void MapAccount()
    {
        Op("GET", "/me/jwt", "getCurrentUserJWT", _ => Task.FromResult(Ok(Jwt.Issue(Options.TokenLifetime))));

        Op("GET", "/customers/{customer_id}/locations", "listCustomerLocations", _ => Task.FromResult(Ok(
            new PricingStruct("EUR", [new G8PricingStruct(Options.Location, new ResourcePricesStruct(0, 0, 0, 0, 0, 0, 0, 0, 0, 0))]))));

        Op("GET", "/customers/{customer_id}/cloudspaces", "listCloudspaces", call =>
        {
            var query = call.Query;
            query.Bool("include_deleted", false);
            var onlyDeleted = query.Bool("only_deleted", false);
            query.Bool("include_disabled", true);
            query.Bool("filter_storage_only", false);
            var locations = query.String("locations");
            var inLocation = locations is null || locations.Split(',').Contains(Options.Location, StringComparer.Ordinal);
            IReadOnlyList<CloudspacesModel> result = onlyDeleted || !inLocation
                ? []
                : [new CloudspacesModel
                {
                    CloudspaceId = Options.CloudspaceId,
                    Status = "DEPLOYED",
                    Name = "emulator",
                    ExternalNetworkIp = "127.0.0.1",
                    CreationTime = 0,
                    UpdateTime = 0,
                    RouterType = "vgw",
                    CloudspaceMode = "private",
                    PrivateNetwork = "10.0.0.0/24",
                    Location = Options.Location,
                }];
            return Task.FromResult(Ok(new Cloudspaces([new LocationStatus(Options.Location, "ONLINE")], result)));
        });
    }

    /// <summary>The IAM's <c>GET /v1/oauth/jwt/refresh</c>: a token of this emulator (expired or not) for a new one, as plain text.</summary>
    private IResult RefreshAsync(HttpContext context)
    {
        var check = Jwt.Check(BearerToken(context), allowExpired: true);
        if (check != JwtCheck.Valid)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Error(401, check == JwtCheck.Missing ? "Missing Authorization header with a bearer JWT" : "The JWT is not valid for this platform");
        }

        return Results.Text(Jwt.Issue(Options.TokenLifetime), "text/plain");
    }
}
